import { realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { ruleFilesIn, type RuleFile } from '../scan/rules';
import { ioError, UsageError } from '../util/errors';
import { governedWorkspace } from '../workspace/workspace';
import { loadPolicy, type Policy } from './load';

/**
 * The policy's rule files for a scan of `path` (a file or folder): those of the governed workspace that
 * holds it, none outside one. The extension's "Scan Model..." goes through this (the core worker).
 */
export async function workspaceRuleFiles(path: string): Promise<RuleFile[]> {
  let folder = resolve(path);
  try {
    if (!(await stat(folder)).isDirectory()) folder = dirname(folder);
  } catch {
    folder = dirname(folder);
  }
  const root = await governedWorkspace(folder).catch(() => undefined);
  return root ? policyRuleFiles(root, (await loadPolicy(root)).policy) : [];
}

/**
 * The rule files the policy adds to the scanner's default pack (`scan.yara_rules`): files or folders
 * (their *.yar / *.yara, recursively), resolved from the repository root and confined to it (links
 * included), so the rules that judge a model are versioned and reviewed with the policy.
 */
export async function policyRuleFiles(root: string, policy: Policy): Promise<RuleFile[]> {
  const entries = policy.scan?.yara_rules ?? [];
  if (entries.length === 0) return [];
  const realRoot = await realpath(root);
  const out: RuleFile[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    const where = `.sovereign/policy.yaml scan.yara_rules "${entry}"`;
    let real: string;
    try {
      real = await realpath(resolve(root, entry));
    } catch (err) {
      throw ioError(err, `${entry} (${where})`);
    }
    if (!inside(realRoot, real)) {
      throw new UsageError(`${where} is outside the repository (${real})`, 'keep rule packs in the repository (e.g. rules/*.yar), so they are versioned and reviewed with the policy');
    }
    const files = (await stat(real)).isDirectory() ? await ruleFilesIn(real) : [real];
    if (files.length === 0) throw new UsageError(`${where} holds no .yar or .yara file`, 'name rule files or a folder that holds them');
    for (const file of files) {
      const realFile = await realpath(file);
      if (!inside(realRoot, realFile)) throw new UsageError(`${where}: ${file} links outside the repository`, 'keep rule packs in the repository');
      if (seen.has(realFile)) continue;
      seen.add(realFile);
      out.push({ path: realFile, name: relative(realRoot, realFile).split(sep).join('/') });
    }
  }
  return out;
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}
