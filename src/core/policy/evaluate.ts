import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { loadKeyring, type TrustedKey } from '../signing/keys';
import { loadRegistry, type Registry, type RegistryEntry } from '../registry/read';
import { checkVersionSignature, type VersionSignatureStatus } from '../registry/signature';
import { aliasesRelPath } from '../workspace/workspace';
import { YamlFile, type YamlProblem } from '../workspace/yaml-file';
import { loadRuleStage } from '../scan/rules';
import { policyRuleFiles } from './scan-rules';
import { loadPolicy, type LoadedPolicy, type Policy, type PolicyException } from './load';
import { manifestViolations, UNWAIVABLE, type PolicyRule, type RawViolation } from './rules';

/** One policy violation, placed at the manifest (or alias file) line it is about. */
export interface PolicyViolation {
  rule: PolicyRule;
  severity: 'error' | 'warning';
  message: string;
  /** How to fix it. */
  fix: string;
  /** Repository-relative file, e.g. .sovereign/models/NAME/VERSION.yaml. */
  file: string;
  line: number;
  column?: number;
  model?: string;
  version?: string;
}

export interface WaivedViolation {
  violation: PolicyViolation;
  exception: PolicyException;
}

export interface PolicyReport {
  policyFile: string;
  /** false when the workspace has no policy.yaml and the defaults applied. */
  policyExists: boolean;
  versionsChecked: number;
  violations: PolicyViolation[];
  /** Violations an active exception waives (reported, not failing). */
  waived: WaivedViolation[];
}

export interface EvaluateOptions {
  /** "Today" for exception expiry (tests); defaults to now. */
  now?: Date;
  registry?: Registry;
  loaded?: LoadedPolicy;
  /** Extra trusted keys (e.g. from --key). */
  extraKeys?: readonly TrustedKey[];
}

/** `YYYY-MM-DD` of a date, in UTC. */
export function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** An exception covers a model (NAME or NAME@VERSION) and a rule ("format" or "policy/format"). */
export function findException(policy: Policy, rule: PolicyRule, name: string, version: string | undefined): PolicyException | undefined {
  return (policy.exceptions ?? []).find(
    (e) => (e.rule === rule || e.rule === `policy/${rule}`) && (e.model === name || (version !== undefined && e.model === `${name}@${version}`)),
  );
}

/** Active when today is on or before its expiry day. */
export function exceptionActive(e: PolicyException, now: Date): boolean {
  return isoDay(now) <= e.expires;
}

/** Splits raw violations into waived (active exception) and standing ones; expired waivers say so. */
export function applyExceptions(
  policy: Policy,
  raw: RawViolation[],
  name: string,
  version: string | undefined,
  now: Date,
): { standing: RawViolation[]; waived: { raw: RawViolation; exception: PolicyException }[] } {
  const standing: RawViolation[] = [];
  const waived: { raw: RawViolation; exception: PolicyException }[] = [];
  for (const v of raw) {
    const e = UNWAIVABLE.has(v.rule) ? undefined : findException(policy, v.rule, name, version);
    if (e && exceptionActive(e, now)) waived.push({ raw: v, exception: e });
    else if (e) standing.push({ ...v, message: `${v.message} (the exception for ${e.model} expired on ${e.expires})`, fix: `${v.fix}; or renew the exception with a new expiry date` });
    else standing.push(v);
  }
  return { standing, waived };
}

/** Trusted keys of the policy (files or folders, relative to the workspace root), plus extra ones. */
export async function policyKeys(root: string, policy: Policy, extra: readonly TrustedKey[] = []): Promise<TrustedKey[]> {
  const paths = (policy.signature?.trusted_keys ?? []).map((p) => (isAbsolute(p) ? p : join(root, p)));
  const keys = paths.length ? await loadKeyring(paths) : [];
  const seen = new Set(keys.map((k) => k.keyId));
  return [...keys, ...extra.filter((k) => !seen.has(k.keyId))];
}

export function revokedKeys(policy: Policy): Map<string, string> {
  return new Map((policy.signature?.revoked_keys ?? []).map((r) => [r.key_id, r.reason ?? '']));
}

/** Signature rules for one version: required signature, revoked signer. */
export function signatureViolations(status: VersionSignatureStatus, requiredBecause: string | undefined): RawViolation[] {
  const out: RawViolation[] = [];
  if (status.failure === 'revoked') {
    out.push({ rule: 'signature-revoked', message: status.reason ?? 'signed by a revoked key', fix: 'register a new version signed with a current key (`sovereign registry add ... --key PRIVATE.pem`)', path: ['signature', 'key_id'] });
    return out;
  }
  if (!requiredBecause) return out;
  if (status.status === 'unsigned') {
    out.push({ rule: 'signature-required', message: `not signed, but ${requiredBecause}`, fix: 'sign it: `sovereign registry add ... --key PRIVATE.pem` (or re-register signed)', path: [], key: 'name' });
  } else if (status.status === 'invalid') {
    out.push({ rule: 'signature-required', message: `${requiredBecause}, but its signature is not valid: ${status.reason}`, fix: 'restore the signed files or sign again with a trusted key', path: ['signature'] });
  }
  return out;
}

/**
 * Evaluates the policy over every manifest and alias of the workspace. Malformed manifests are violations
 * (rule manifest-invalid); a malformed policy throws PolicyFileError (exit 2).
 */
export async function evaluatePolicy(root: string, options: EvaluateOptions = {}): Promise<PolicyReport> {
  const now = options.now ?? new Date();
  const loaded = options.loaded ?? (await loadPolicy(root));
  const { policy } = loaded;
  // The policy's YARA rule packs must compile (file:line:col otherwise, exit 2, like a malformed policy).
  if (policy.scan?.yara_rules?.length) await loadRuleStage({ extra: await policyRuleFiles(root, policy) });
  const registry = options.registry ?? (await loadRegistry(root));
  const keys = await policyKeys(root, policy, options.extraKeys);
  const revoked = revokedKeys(policy);
  const violations: PolicyViolation[] = registry.problems.map((p) => problemViolation(p));
  const waived: WaivedViolation[] = [];
  const aliasRequired = new Set(policy.signature?.required_for_aliases ?? []);

  for (const entry of registry.entries) {
    const m = entry.manifest;
    const raw = manifestViolations(policy, m);
    const guardedAliases = entry.aliases.filter((a) => aliasRequired.has(a));
    const requiredBecause = policy.signature?.required ? 'the policy requires every version to be signed' : undefined;
    if (m.signature || requiredBecause) {
      const status = await checkVersionSignature(root, m, entry.file, keys, revoked);
      raw.push(...signatureViolations(status, requiredBecause));
      if (!requiredBecause && guardedAliases.length) {
        // Alias-guarded versions are reported at the alias line below.
        for (const v of signatureViolations(status, `alias ${guardedAliases.join(', ')} requires a trusted signature`)) {
          if (v.rule === 'signature-required') await pushAliasViolation(root, entry, guardedAliases, v, now, policy, violations, waived);
        }
      }
    } else if (guardedAliases.length) {
      const status: VersionSignatureStatus = { status: 'unsigned', changed: [], added: [], missing: [] };
      for (const v of signatureViolations(status, `alias ${guardedAliases.join(', ')} requires a trusted signature`)) {
        await pushAliasViolation(root, entry, guardedAliases, v, now, policy, violations, waived);
      }
    }
    const { standing, waived: w } = applyExceptions(policy, raw, m.name, m.version, now);
    if (!standing.length && !w.length) continue;
    const yaml = await reparse(root, entry.file);
    for (const v of standing) violations.push(place(v, entry, yaml));
    for (const x of w) waived.push({ violation: place(x.raw, entry, yaml), exception: x.exception });
  }
  violations.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
  return { policyFile: loaded.file, policyExists: loaded.exists, versionsChecked: registry.entries.length, violations, waived };
}

async function pushAliasViolation(
  root: string,
  entry: RegistryEntry,
  aliases: string[],
  v: RawViolation,
  now: Date,
  policy: Policy,
  violations: PolicyViolation[],
  waived: WaivedViolation[],
): Promise<void> {
  const file = aliasesRelPath(entry.manifest.name);
  const yaml = await reparse(root, file);
  const pos = yaml ? yaml.locate([], aliases[0]) : { line: 1, column: 1 };
  const { standing, waived: w } = applyExceptions(policy, [v], entry.manifest.name, entry.manifest.version, now);
  const placed = (r: RawViolation): PolicyViolation => ({
    rule: r.rule,
    severity: 'error',
    message: `${entry.manifest.name}@${entry.manifest.version}: ${r.message}`,
    fix: r.fix,
    file,
    line: pos.line,
    column: pos.column,
    model: entry.manifest.name,
    version: entry.manifest.version,
  });
  for (const s of standing) violations.push(placed(s));
  for (const x of w) waived.push({ violation: placed(x.raw), exception: x.exception });
}

async function reparse(root: string, rel: string): Promise<YamlFile | undefined> {
  try {
    return YamlFile.parse(await readFile(join(root, rel), 'utf8'), rel).yaml;
  } catch {
    return undefined;
  }
}

function place(v: RawViolation, entry: RegistryEntry, yaml: YamlFile | undefined): PolicyViolation {
  const pos = yaml ? yaml.locate(v.path, v.key) : { line: 1, column: 1 };
  return {
    rule: v.rule,
    severity: 'error',
    message: v.message,
    fix: v.fix,
    file: entry.file,
    line: pos.line,
    column: pos.column,
    model: entry.manifest.name,
    version: entry.manifest.version,
  };
}

function problemViolation(p: YamlProblem): PolicyViolation {
  const m = /models\/([^/]+)\/([^/]+)\.yaml$/.exec(p.file);
  return {
    rule: 'manifest-invalid',
    severity: 'error',
    message: p.message,
    fix: p.fix,
    file: p.file,
    line: p.line,
    column: p.column,
    model: m?.[1],
    version: m && m[2] !== 'aliases' ? m[2] : undefined,
  };
}

export function formatViolation(v: PolicyViolation): string {
  return `${v.file}:${v.line}:${v.column ?? 1}: [${v.rule}] ${v.message}; ${v.fix}`;
}
