import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { readSignatureFile, SignaturePathError } from '../../registry/signature-file';

/** One registered model version, as an auditor needs it: identity, digests, signature, scan verdict. */
export interface ModelEvidence {
  name: string;
  version: string;
  /** Repository-relative manifest path. */
  file: string;
  /** sha256 of the manifest bytes: ties the report to the exact file in git. */
  manifestSha256: string;
  format?: string;
  license?: string;
  source?: string;
  artifacts: Array<{ path: string; sha256: string; size?: number; format?: string }>;
  signature: {
    present: boolean;
    path?: string;
    keyId?: string;
    signedAt?: string;
    fileSha256?: string;
    fileMissing?: boolean;
    /** Checked against the policy's trusted keys: valid, invalid (reason says why), or unchecked. */
    status?: 'valid' | 'invalid' | 'unchecked';
    verifiedKeyId?: string;
    reason?: string;
  };
  scan?: { verdict?: string; worst?: string; findings?: number; tool?: string; version?: string; scannedAt?: string };
  aliases: string[];
  /** What is wrong with the manifest as read (missing fields, unreadable YAML). */
  problems: string[];
}

const MODELS_DIR = join('.sovereign', 'models');

/**
 * Reads `.sovereign/models/NAME/VERSION.yaml` and `aliases.yaml` straight from the working tree with the
 * YAML parser. Deliberately tolerant: a manifest the registry would reject still appears in the evidence,
 * with its problems listed, rather than vanishing from the report.
 */
export async function collectModels(root: string): Promise<ModelEvidence[]> {
  const dir = join(root, MODELS_DIR);
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch {
    return [];
  }
  const models: ModelEvidence[] = [];
  for (const name of names) {
    const files = (await readdir(join(dir, name))).sort();
    const aliases = files.includes('aliases.yaml') ? await readAliases(join(dir, name, 'aliases.yaml')) : {};
    for (const f of files) {
      if (!f.endsWith('.yaml') || f === 'aliases.yaml') continue;
      const version = f.slice(0, -'.yaml'.length);
      models.push(await readModel(root, name, version, aliases));
    }
  }
  return models;
}

async function readAliases(file: string): Promise<Record<string, string>> {
  try {
    const value: unknown = parse(await readFile(file, 'utf8'));
    if (!value || typeof value !== 'object') return {};
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  } catch {
    return {};
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

async function readModel(root: string, name: string, version: string, aliases: Record<string, string>): Promise<ModelEvidence> {
  const file = `.sovereign/models/${name}/${version}.yaml`;
  const bytes = await readFile(join(root, file));
  const evidence: ModelEvidence = {
    name,
    version,
    file,
    manifestSha256: createHash('sha256').update(bytes).digest('hex'),
    artifacts: [],
    signature: { present: false },
    aliases: Object.entries(aliases).filter(([, v]) => v === version).map(([a]) => a).sort(),
    problems: [],
  };
  let m: Record<string, unknown>;
  try {
    const value: unknown = parse(bytes.toString('utf8'));
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a YAML mapping');
    m = value as Record<string, unknown>;
  } catch (err) {
    evidence.problems.push(`unreadable manifest: ${(err as Error).message.split('\n')[0]}`);
    return evidence;
  }
  if (m.name !== name) evidence.problems.push(`name "${String(m.name)}" does not match its folder "${name}"`);
  if (m.version !== version) evidence.problems.push(`version "${String(m.version)}" does not match its file name`);
  evidence.format = str(m.format);
  evidence.license = str(m.license);
  const source = m.source as Record<string, unknown> | undefined;
  evidence.source = str(source?.uri) ?? str(source?.kind);
  if (Array.isArray(m.artifacts)) {
    for (const a of m.artifacts as Array<Record<string, unknown>>) {
      const sha = str(a?.sha256);
      if (!sha) evidence.problems.push(`artifact ${String(a?.path)} has no sha256 digest`);
      evidence.artifacts.push({ path: String(a?.path), sha256: sha ?? '', size: typeof a?.size === 'number' ? a.size : undefined, format: str(a?.format) });
    }
  }
  if (evidence.artifacts.length === 0) evidence.problems.push('no artifacts listed (nothing is pinned by digest)');
  const sig = m.signature as Record<string, unknown> | undefined;
  if (sig && typeof sig === 'object') {
    evidence.signature = { present: true, path: str(sig.path), keyId: str(sig.key_id), signedAt: str(sig.signed_at) };
    if (evidence.signature.path) {
      try {
        evidence.signature.fileSha256 = createHash('sha256').update(await readSignatureFile(root, evidence.signature.path)).digest('hex');
      } catch (err) {
        if (err instanceof SignaturePathError && err.kind === 'unsafe') {
          evidence.problems.push(err.message);
        } else {
          evidence.signature.fileMissing = true;
          evidence.problems.push(`signature file ${evidence.signature.path} is missing`);
        }
      }
    }
  }
  const scan = m.scan as Record<string, unknown> | undefined;
  if (scan && typeof scan === 'object') {
    evidence.scan = {
      verdict: str(scan.verdict),
      worst: str(scan.worst),
      findings: typeof scan.findings === 'number' ? scan.findings : undefined,
      tool: str(scan.tool),
      version: str(scan.version),
      scannedAt: str(scan.scanned_at),
    };
  }
  return evidence;
}
