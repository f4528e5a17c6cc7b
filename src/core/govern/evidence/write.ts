import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ioError } from '../../util/errors';
import { auditFile } from '../../audit/log';
import { collectEvidence, type CollectOptions, type Evidence } from './collect';
import { renderEvidenceHtml, renderEvidenceMarkdown } from './render';

export interface EvidenceBundle {
  dir: string;
  /** File names written, SHA256SUMS last. */
  files: string[];
  evidence: Evidence;
}

/**
 * Writes the bundle an auditor receives: evidence.json, report.md, report.html, raw copies of the audit
 * log and the policy, and SHA256SUMS over all of them (`sha256sum -c SHA256SUMS` checks it).
 */
export async function writeEvidenceBundle(root: string, outDir: string, options: CollectOptions = {}): Promise<EvidenceBundle> {
  const dir = resolve(outDir);
  const evidence = await collectEvidence(root, options);
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw ioError(err, dir, 'create');
  }
  const files: string[] = [];
  const put = async (name: string, text: string): Promise<void> => {
    try {
      await writeFile(join(dir, name), text);
    } catch (err) {
      throw ioError(err, join(dir, name), 'write');
    }
    files.push(name);
  };
  await put('evidence.json', JSON.stringify(evidence, null, 2) + '\n');
  await put('report.md', renderEvidenceMarkdown(evidence));
  await put('report.html', renderEvidenceHtml(evidence));
  const copies: Array<[string, string]> = [[auditFile(root), 'audit.jsonl'], [join(root, '.sovereign', 'policy.yaml'), 'policy.yaml']];
  for (const [from, name] of copies) {
    try {
      await copyFile(from, join(dir, name));
      files.push(name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(err, from, 'copy');
    }
  }
  const sums: string[] = [];
  for (const name of files) {
    sums.push(`${createHash('sha256').update(await readFile(join(dir, name))).digest('hex')}  ${name}`);
  }
  await put('SHA256SUMS', sums.join('\n') + '\n');
  return { dir, files, evidence };
}
