import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { appendAudit } from '../audit/log';
import { RefusedError, UsageError } from '../util/errors';
import type { TrustedKey } from '../signing/keys';
import { applyExceptions, policyKeys, revokedKeys, signatureViolations } from '../policy/evaluate';
import { defaultPolicyText, loadPolicy } from '../policy/load';
import { manifestViolations } from '../policy/rules';
import { ALIAS_NAME, parseAliases, serializeAliases } from '../registry/aliases';
import { RegistryGit, type HistoryEntry } from '../registry/git';
import type { ModelManifest } from '../registry/manifest';
import { loadRegistry, type Registry, type RegistryEntry } from '../registry/read';
import { checkVersionSignature, type VersionSignatureStatus } from '../registry/signature';
import { ContentStore, type ObjectStatus } from '../registry/store';
import { withRegistryLock } from '../registry/lock';
import { RegistryTransaction } from '../registry/transaction';
import { aliasesRelPath, AUDIT_FILE, MODELS_DIR, resolveStoreRoot } from '../workspace/workspace';
import { workspaceTrustedKeys } from './trusted-keys';

export interface AliasResult {
  name: string;
  alias: string;
  version: string;
  /** The version the alias pointed at before, if any. */
  from?: string;
  /** false when the alias already pointed there (nothing committed). */
  changed: boolean;
  commit?: string;
}

/**
 * Points ALIAS at NAME@VERSION (one version per alias) with one commit. The target must pass the policy;
 * aliases listed in signature.required_for_aliases also need a valid signature by a trusted, unrevoked key.
 */
export async function setAlias(root: string, ref: string, alias: string, options: { extraKeys?: readonly TrustedKey[]; now?: Date } = {}): Promise<AliasResult> {
  if (!ALIAS_NAME.test(alias)) throw new UsageError(`"${alias}" is not a valid alias name`, 'use a letter then letters, digits, ".", "_" or "-" (e.g. production, staging)');
  return withRegistryLock(root, () => setAliasLocked(root, ref, alias, options), { command: `registry alias ${ref} ${alias}` });
}

async function setAliasLocked(root: string, ref: string, alias: string, options: { extraKeys?: readonly TrustedKey[]; now?: Date }): Promise<AliasResult> {
  const registry = await loadRegistry(root);
  const entry = registry.resolve(ref);
  const { name, version } = entry.manifest;
  const aliasFile = aliasesRelPath(name);
  let current: Record<string, string> = {};
  try {
    const parsed = parseAliases(await readFile(join(root, aliasFile), 'utf8'), aliasFile);
    if (parsed.problems.length) throw new UsageError(`${aliasFile}:${parsed.problems[0].line}:${parsed.problems[0].column}: ${parsed.problems[0].message}; ${parsed.problems[0].fix}`);
    current = parsed.aliases;
  } catch (err) {
    if (err instanceof UsageError) throw err;
  }
  if (current[alias] === version) return { name, alias, version, from: version, changed: false };

  const { policy } = await loadPolicy(root);
  const now = options.now ?? new Date();
  const raw = manifestViolations(policy, entry.manifest);
  const guarded = policy.signature?.required || policy.signature?.required_for_aliases?.includes(alias);
  const keys = await policyKeys(root, policy, options.extraKeys);
  const status = await checkVersionSignature(root, entry.manifest, entry.file, keys, revokedKeys(policy));
  raw.push(...signatureViolations(status, guarded ? `alias ${alias} requires a signature by a trusted key` : undefined));
  const { standing, waived } = applyExceptions(policy, raw, name, version, now);
  if (standing.length) {
    throw new RefusedError(
      `cannot point ${alias} at ${name}@${version}:\n${standing.map((v) => `  [${v.rule}] ${v.message}`).join('\n')}`,
      standing[0].fix,
    );
  }

  const tx = new RegistryTransaction(root, { trustedKeys: () => workspaceTrustedKeys(root) });
  await tx.snapshot(AUDIT_FILE);
  try {
    await tx.write(aliasFile, serializeAliases(name, { ...current, [alias]: version }));
    await tx.audit({ action: 'alias', subject: `${name}@${alias}`, details: { from: current[alias] ?? null, to: version, signedBy: status.keyId } });
    for (const w of waived) {
      await tx.audit({ action: 'policy-exception', subject: `${name}@${version}`, details: { rule: w.raw.rule, reason: w.exception.justification, expires: w.exception.expires, approver: w.exception.approved_by, use: `alias ${alias}` } });
    }
    const commit = await tx.commit(`registry: alias ${alias} -> ${name}@${version}${current[alias] ? `\n\nmoved from ${name}@${current[alias]}` : ''}`);
    return { name, alias, version, from: current[alias], changed: true, commit };
  } catch (err) {
    await tx.rollback();
    throw err;
  }
}

export interface ArtifactCheck {
  path: string;
  sha256: string;
  size: number;
  status: ObjectStatus;
}

export interface VersionVerification {
  ref: string;
  ok: boolean;
  artifacts: ArtifactCheck[];
  signature: VersionSignatureStatus;
}

/** Re-hashes every stored artifact of a version and, when it is signed, checks the signature too. */
export async function verifyVersion(
  root: string,
  entry: RegistryEntry,
  options: { extraKeys?: readonly TrustedKey[]; signal?: AbortSignal; onArtifact?: (path: string) => void; audit?: boolean } = {},
): Promise<VersionVerification> {
  const store = new ContentStore(await resolveStoreRoot(root));
  const { policy } = await loadPolicy(root);
  const m = entry.manifest;
  const artifacts: ArtifactCheck[] = [];
  for (const a of m.artifacts) {
    options.onArtifact?.(a.path);
    artifacts.push({ path: a.path, sha256: a.sha256, size: a.size, status: await store.verify(a.sha256, options) });
  }
  const keys = m.signature ? await policyKeys(root, policy, options.extraKeys) : [];
  const signature = await checkVersionSignature(root, m, entry.file, keys, revokedKeys(policy), store);
  const ok = artifacts.every((a) => a.status === 'ok') && signature.status !== 'invalid';
  const ref = `${m.name}@${m.version}`;
  if (options.audit !== false) {
    await appendAudit(root, {
      action: 'verify',
      subject: ref,
      details: { ok, keyId: signature.keyId, signature: signature.status, reason: ok ? undefined : signature.reason ?? artifacts.filter((a) => a.status !== 'ok').map((a) => `${a.path}: ${a.status}`).join(', ') },
    });
  }
  return { ref, ok, artifacts, signature };
}

/** Commits that touched a model's manifests or aliases (who changed what and when), newest first. */
export async function modelHistory(root: string, name: string): Promise<HistoryEntry[]> {
  return new RegistryGit(root).history(`${MODELS_DIR}/${name}`);
}

export interface FieldChange {
  path: string;
  from?: unknown;
  to?: unknown;
  change: 'added' | 'removed' | 'changed';
}

/** Field-level differences between two manifests (flattened paths such as artifacts[0].sha256). */
export function diffManifests(a: ModelManifest, b: ModelManifest): FieldChange[] {
  const fa = flatten(a);
  const fb = flatten(b);
  const out: FieldChange[] = [];
  for (const [k, v] of fa) {
    if (!fb.has(k)) out.push({ path: k, from: v, change: 'removed' });
    else if (JSON.stringify(fb.get(k)) !== JSON.stringify(v)) out.push({ path: k, from: v, to: fb.get(k), change: 'changed' });
  }
  for (const [k, v] of fb) if (!fa.has(k)) out.push({ path: k, to: v, change: 'added' });
  return out.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

function flatten(value: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (Array.isArray(value)) {
    if (!value.length) out.set(prefix, []);
    value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
  } else if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    if (!entries.length && prefix) out.set(prefix, {});
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, value);
  }
  return out;
}

/** Resolves NAME@A and NAME@B for diff. */
export function resolvePair(registry: Registry, a: string, b: string): [RegistryEntry, RegistryEntry] {
  return [registry.resolve(a), registry.resolve(b)];
}

export interface InitResult {
  created: string[];
  commit?: string;
}

/**
 * Prepares a workspace: a documented default policy and a .gitignore for local settings, committed
 * together. Existing files are kept; running it twice is harmless.
 */
export async function initRegistry(root: string): Promise<InitResult> {
  const wanted: [string, string][] = [
    [`${MODELS_DIR}/README.md`, '# Model registry\n\nOne folder per model: `VERSION.yaml` manifests, `VERSION.sig` signatures, `aliases.yaml`.\nManaged with `sovereign registry`; see docs/registry.md.\n'],
    ['.sovereign/policy.yaml', defaultPolicyText()],
    ['.sovereign/.gitignore', '# Local settings (artifact store location) and caches stay out of git.\nconfig.yaml\n.cache/\n'],
  ];
  return withRegistryLock(root, () => initLocked(root, wanted), { command: 'registry init' });
}

async function initLocked(root: string, wanted: [string, string][]): Promise<InitResult> {
  const tx = new RegistryTransaction(root, { trustedKeys: () => workspaceTrustedKeys(root) });
  const created: string[] = [];
  for (const [rel, text] of wanted) {
    try {
      await readFile(join(root, rel));
    } catch {
      await tx.write(rel, text);
      created.push(rel);
    }
  }
  if (!created.length) return { created };
  try {
    const commit = await tx.commit(`registry: init (${created.join(', ')})`);
    return { created, commit };
  } catch (err) {
    await tx.rollback();
    throw err;
  }
}
