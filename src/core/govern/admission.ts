import type { KeyObject } from 'node:crypto';
import { chmod, copyFile, lstat, mkdir, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { valid as validSemver } from 'semver';
import { scanPaths, reportBlocks, type FileReport } from '../scan/scanner';
import { isBlocking, SEVERITIES, worstSeverity, type Finding, type Severity } from '../formats/findings';
import { collectFiles } from '../scan/scanner';
import { loadPrivateKey, keyIdOf } from '../signing/keys';
import { createPublicKey } from 'node:crypto';
import { ioError, RefusedError, UsageError } from '../util/errors';
import { VERSION as TOOL_VERSION } from '../version';
import { applyExceptions, policyKeys, type WaivedViolation } from '../policy/evaluate';
import { loadPolicy } from '../policy/load';
import { policyRuleFiles } from '../policy/scan-rules';
import { manifestViolations, type RawViolation } from '../policy/rules';
import { DERIVATIONS, serializeManifest, type Derivation, type ManifestDataset, type ManifestProvenance, type ModelManifest } from '../registry/manifest';
import { checkShardIndexes, readModelCard, type ModelCard } from '../registry/hub-folder';
import { loadRegistry } from '../registry/read';
import { signVersion } from '../registry/signature';
import { ContentStore, type PutResult } from '../registry/store';
import { withRegistryLock } from '../registry/lock';
import { RegistryTransaction } from '../registry/transaction';
import { AUDIT_FILE, manifestRelPath, resolveStoreRoot, signatureRelPath } from '../workspace/workspace';
import { numberFact } from '../policy/gate';
import { workspaceTrustedKeys } from './trusted-keys';

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface AddOptions {
  /** A model file or a folder of files. */
  input: string;
  name: string;
  version: string;
  description?: string;
  license?: string;
  authors?: string[];
  source?: { uri?: string; kind?: string; revision?: string };
  parents?: { ref: string; derivation?: Derivation }[];
  datasets?: ManifestDataset[];
  tags?: Record<string, string>;
  /** Sign the version (artifacts + manifest) with this EC P-256 private key. */
  privateKey?: string | KeyObject;
  now?: Date;
  signal?: AbortSignal;
  /**
   * Stage names for progress: quarantine, scan, index, policy, store, sign, commit; `model-card` (detail: a
   * field taken from the model card, to tell the user) and `warning` (detail: something to tell the user).
   */
  onStage?: (stage: string, detail?: string) => void;
}

export interface AddResult {
  manifest: ModelManifest;
  manifestFile: string;
  signatureFile?: string;
  commit: string;
  stored: PutResult[];
  waived: WaivedViolation[];
}

/** Registration refused by the scanner or the policy. Exit 1. */
export class AdmissionRefused extends RefusedError {
  constructor(
    message: string,
    hint: string,
    readonly stage: 'scan' | 'index' | 'policy',
    readonly findings: { path: string; findings: Finding[] }[] = [],
    readonly violations: RawViolation[] = [],
    /** Where the refused files wait (scan refusals only: they never leave quarantine). */
    readonly quarantine?: string,
  ) {
    super(message, hint);
  }
}

/**
 * The admission pipeline: quarantine (a frozen, read-only copy) -> scan -> policy -> store -> sign ->
 * manifest + audit + one commit. A file that fails the scan never leaves quarantine. Any failure after the
 * checks restores the repository exactly as it was.
 */
export async function addModel(root: string, options: AddOptions): Promise<AddResult> {
  const { name, version } = options;
  if (!NAME_PATTERN.test(name)) throw new UsageError(`"${name}" is not a valid model name`, 'use letters, digits, ".", "_" or "-", starting with a letter or digit');
  if (!validSemver(version) || validSemver(version) !== version) throw new UsageError(`"${version}" is not a semantic version`, 'use MAJOR.MINOR.PATCH, e.g. 1.0.0');
  for (const p of options.parents ?? []) {
    if (p.derivation && !DERIVATIONS.includes(p.derivation)) throw new UsageError(`unknown derivation "${p.derivation}"`, `use one of: ${DERIVATIONS.join(', ')}`);
  }
  const registry = await loadRegistry(root);
  if (registry.get(name, version)) throw alreadyRegistered(name, version);
  for (const p of options.parents ?? []) {
    if (p.ref.startsWith('sha256:')) {
      if (!/^sha256:[0-9a-f]{64}$/.test(p.ref)) throw new UsageError(`parent "${p.ref}" is not sha256:<64 hex digits>`);
    } else {
      const at = p.ref.lastIndexOf('@');
      if (at <= 0) throw new UsageError(`parent "${p.ref}" must be NAME@VERSION or sha256:HEX`);
      const parent = registry.resolve(p.ref);
      p.ref = `${parent.manifest.name}@${parent.manifest.version}`; // an alias becomes the version it points at now
    }
  }
  const { policy } = await loadPolicy(root);
  // The policy's rule packs compile before anything is copied: a broken rule is a usage error, not a refusal.
  const extraRules = await policyRuleFiles(root, policy);
  const privateKey = typeof options.privateKey === 'string' ? await loadPrivateKey(options.privateKey) : options.privateKey;
  const store = new ContentStore(await resolveStoreRoot(root));
  const now = options.now ?? new Date();
  const stage = options.onStage ?? (() => undefined);

  // 1. Quarantine: a private read-only copy, so what is scanned is exactly what gets stored.
  stage('quarantine', options.input);
  const quarantine = await store.newQuarantine();
  let keepQuarantine = false;
  const tx = new RegistryTransaction(root, { key: privateKey, trustedKeys: () => workspaceTrustedKeys(root) });
  await tx.snapshot(AUDIT_FILE);
  const added: string[] = [];
  let duplicate = false;
  let undone = false;
  const undo = async (): Promise<void> => {
    if (undone) return;
    undone = true;
    await tx.rollback();
    for (const sha of added) await store.removeAdded(sha);
  };
  try {
    const { files, folder } = await quarantineCopy(options.input, quarantine);

    // 2. Scan with the real scanner.
    stage('scan');
    const report = await scanPaths([quarantine], { signal: options.signal, extraRules, onFile: (p) => stage('scan', relative(quarantine, p)) });
    const relOf = (p: string): string => relative(quarantine, p).split(sep).join('/');
    const all = report.files.flatMap((f) => f.findings);
    const worst = worstSeverity(all);
    await tx.audit({
      action: 'scan',
      subject: `${name}@${version}`,
      details: { verdict: reportBlocks(report) ? 'fail' : 'pass', worst: worst ?? 'none', counts: countBySeverity(all), rules: [...new Set(all.map((f) => f.rule))].slice(0, 20), files: files.length },
    });
    if (reportBlocks(report)) {
      keepQuarantine = true;
      const blocking = report.files.filter((f) => f.findings.some((x) => isBlocking(x.severity))).map((f) => ({ path: relOf(f.path), findings: f.findings }));
      throw new AdmissionRefused(
        `${name}@${version} refused: the scan found ${blocking.reduce((n, f) => n + f.findings.filter((x) => isBlocking(x.severity)).length, 0)} high or critical finding(s) in ${blocking.map((b) => b.path).join(', ')}`,
        `the files stay in quarantine at ${quarantine}; inspect them with \`sovereign scan ${quarantine}\`, then delete that folder`,
        'scan',
        blocking,
        [],
        quarantine,
      );
    }

    // A hub-style folder: the shard index must match the shards, and the model card fills what was not given.
    let effective = options;
    let provenance: ManifestProvenance | undefined;
    if (folder) {
      stage('index');
      const shards = await checkShardIndexes(quarantine, files);
      for (const w of shards.warnings) stage('warning', w);
      if (shards.problems.length) {
        throw new AdmissionRefused(
          `${name}@${version} refused: the folder does not match its shard index:\n${shards.problems.map((p) => `  ${p}`).join('\n')}`,
          'complete the download (every shard the index names, e.g. `huggingface-cli download ORG/NAME --local-dir DIR`) or remove stale shards, then register the folder again',
          'index',
        );
      }
      ({ effective, provenance } = applyModelCard(options, await readModelCard(quarantine, files), stage));
    }

    // 3. The manifest and the policy.
    const manifest = buildManifest(effective, report.files, relOf, now, worst, provenance);
    stage('policy');
    const raw = manifestViolations(policy, manifest);
    if (policy.signature?.required && !privateKey) {
      raw.push({ rule: 'signature-required', message: 'the policy requires every version to be signed', fix: 'pass --key PRIVATE.pem', path: [] });
    }
    if (privateKey && policy.signature?.revoked_keys?.some((r) => r.key_id === keyIdOf(createPublicKey(privateKey)))) {
      raw.push({ rule: 'signature-revoked', message: `the signing key ${keyIdOf(createPublicKey(privateKey))} is revoked by the policy`, fix: 'sign with a current key', path: [] });
    }
    const { standing, waived } = applyExceptions(policy, raw, name, version, now);
    if (standing.length) {
      throw new AdmissionRefused(
        `${name}@${version} refused by the policy:\n${standing.map((v) => `  [${v.rule}] ${v.message}; ${v.fix}`).join('\n')}`,
        'change the model or its metadata, or add a justified, time-limited exception to .sovereign/policy.yaml',
        'policy',
        [],
        standing,
      );
    }
    if (privateKey && policy.signature?.trusted_keys?.length) {
      const keys = await policyKeys(root, policy);
      const id = keyIdOf(createPublicKey(privateKey));
      if (!keys.some((k) => k.keyId === id)) stage('warning', `the signing key ${id.slice(0, 16)}... is not among the policy's trusted keys`);
    }

    // From here on one registry writer at a time: is NAME@VERSION still free, store, write, commit.
    stage('lock');
    return await withRegistryLock(
      root,
      async () => {
        if ((await loadRegistry(root)).get(name, version)) {
          duplicate = true; // a concurrent registration won: a decision, nothing of ours to undo
          throw alreadyRegistered(name, version, true);
        }
        try {
          return await storeAndCommit();
        } catch (err) {
          await undo(); // still holding the lock: no other writer sees our half-written state
          throw err;
        }
      },
      { command: `registry add ${name}@${version}` },
    );

    async function storeAndCommit(): Promise<AddResult> {
      // 4. Store: link (same filesystem) from quarantine; identical bytes are stored once.
      stage('store');
      const stored: PutResult[] = [];
      for (const f of report.files) {
        const put = await store.put(f.path, f.sha256);
        if (put.added) added.push(put.sha256);
        stored.push(put);
      }

      // 5. Manifest, signature, audit, one commit.
      const manifestFile = manifestRelPath(name, version);
      let signatureFile: string | undefined;
      if (privateKey) {
        signatureFile = signatureRelPath(name, version);
        manifest.signature = { path: signatureFile, key_id: keyIdOf(createPublicKey(privateKey)), signed_at: now.toISOString() };
      }
      const text = serializeManifest(manifest);
      await tx.write(manifestFile, text);
      if (privateKey && signatureFile) {
        stage('sign');
        const bundle = signVersion(manifest, manifestFile, text, privateKey);
        await tx.write(signatureFile, JSON.stringify(bundle, null, 2) + '\n');
      }
      const primary = manifest.artifacts.reduce((a, b) => (b.size > a.size ? b : a));
      await tx.audit({
        action: 'register',
        subject: `${name}@${version}`,
        details: { digest: `sha256:${primary.sha256}`, format: manifest.format, source: manifest.source?.uri, artifacts: manifest.artifacts.length, parents: manifest.parents?.map((p) => p.ref) },
      });
      if (manifest.signature) {
        await tx.audit({ action: 'sign', subject: `${name}@${version}`, details: { digest: `sha256:${primary.sha256}`, keyId: manifest.signature.key_id } });
      }
      for (const w of waived) {
        await tx.audit({ action: 'policy-exception', subject: `${name}@${version}`, details: { rule: w.raw.rule, reason: w.exception.justification, expires: w.exception.expires, approver: w.exception.approved_by, use: 'register' } });
      }
      stage('commit');
      const commit = await tx.commit(`registry: add ${name}@${version} (sha256:${primary.sha256.slice(0, 8)})\n\n${describeCommit(manifest)}`);
      return {
        manifest,
        manifestFile,
        signatureFile,
        commit,
        stored,
        waived: waived.map((w) => ({
          violation: { rule: w.raw.rule, severity: 'error', message: w.raw.message, fix: w.raw.fix, file: manifestFile, line: 1, model: name, version },
          exception: w.exception,
        })),
      };
    }
  } catch (err) {
    // A failure, not a decision: put everything back as it was.
    if (!(err instanceof AdmissionRefused) && !duplicate) await undo();
    throw err;
  } finally {
    if (!keepQuarantine) await rm(quarantine, { recursive: true, force: true }).catch(() => undefined);
  }
}

function alreadyRegistered(name: string, version: string, concurrent = false): RefusedError {
  return new RefusedError(
    `${name}@${version} is already registered${concurrent ? ' (by a registration that ran at the same time)' : ''}`,
    'versions are immutable: register a new version (e.g. bump the patch number)',
  );
}

/**
 * Fills license, datasets and base model from the model card where the registration gave none, and says so
 * (a `model-card` stage per field, `warning` for card fields that cannot be used). The manifest's
 * `provenance` records which fields came from the card.
 */
function applyModelCard(options: AddOptions, card: ModelCard | undefined, stage: (stage: string, detail?: string) => void): { effective: AddOptions; provenance?: ManifestProvenance } {
  if (!card) return { effective: options };
  for (const p of card.problems) stage('warning', `model card ${card.path}: ${p} (ignored)`);
  const effective: AddOptions = { ...options };
  const taken: NonNullable<ManifestProvenance['from_model_card']> = [];
  const provenance: ManifestProvenance = { model_card: card.path };
  if (!options.license && card.license) {
    effective.license = card.license;
    taken.push('license');
    stage('model-card', `license ${card.license} taken from the model card (${card.path})`);
  }
  if (!options.datasets?.length && card.datasets.length) {
    effective.datasets = card.datasets.map((d) => ({ name: d, uri: `https://huggingface.co/datasets/${d}` }));
    taken.push('datasets');
    stage('model-card', `datasets ${card.datasets.join(', ')} taken from the model card (${card.path})`);
  }
  if (!options.parents?.length && card.baseModel.length) {
    provenance.base_model = card.baseModel;
    if (card.baseModelRelation) provenance.base_model_relation = card.baseModelRelation;
    taken.push('base_model');
    stage('model-card', `base model ${card.baseModel.join(', ')}${card.baseModelRelation ? ` (${card.baseModelRelation})` : ''} taken from the model card (${card.path})`);
  }
  if (!taken.length) return { effective };
  provenance.from_model_card = taken;
  return { effective, provenance };
}

/** Copies the input into quarantine (read-only); returns the relative paths. Symbolic links are refused. */
async function quarantineCopy(input: string, quarantine: string): Promise<{ files: string[]; folder: boolean }> {
  let st;
  try {
    st = await lstat(input);
  } catch (err) {
    throw ioError(err, input);
  }
  if (st.isSymbolicLink()) throw new UsageError(`${input} is a symbolic link`, 'register the real file or folder');
  const { files, symlinks } = await collectFiles([input]);
  if (symlinks.length) throw new UsageError(`${symlinks[0]} is a symbolic link`, 'a model folder must hold its files; replace links with the real files');
  if (!files.length) throw new UsageError(`${input} contains no files`, 'point at the model file or the folder that holds it');
  const base = st.isDirectory() ? resolve(input) : dirname(resolve(input));
  const rels: string[] = [];
  for (const file of files) {
    const rel = st.isDirectory() ? relative(base, resolve(file)) : basename(file);
    const target = join(quarantine, rel);
    await mkdir(dirname(target), { recursive: true });
    try {
      await copyFile(file, target);
      await chmod(target, 0o444);
    } catch (err) {
      throw ioError(err, file, 'copy');
    }
    rels.push(rel.split(sep).join('/'));
  }
  return { files: rels, folder: st.isDirectory() };
}

function buildManifest(o: AddOptions, files: FileReport[], relOf: (p: string) => string, now: Date, worst: Severity | undefined, provenance?: ManifestProvenance): ModelManifest {
  const artifacts = files.map((f) => ({ path: relOf(f.path), sha256: f.sha256, size: f.size, format: f.format }));
  const primary = files.reduce((a, b) => (b.size > a.size ? b : a));
  const params = numberFact(primary.facts);
  const m: ModelManifest = {
    manifestVersion: 1,
    name: o.name,
    version: o.version,
    description: o.description,
    format: primary.format,
    parameter_count: params,
    license: o.license,
    authors: o.authors?.length ? o.authors : undefined,
    source: o.source && Object.values(o.source).some(Boolean) ? stripUndefined(o.source) : undefined,
    artifacts,
    parents: o.parents?.length ? o.parents.map((p) => stripUndefined({ ref: p.ref, derivation: p.derivation })) : undefined,
    datasets: o.datasets?.length ? o.datasets.map(stripUndefined) : undefined,
    provenance,
    scan: {
      tool: 'sovereign-scan',
      version: TOOL_VERSION,
      verdict: 'pass',
      worst: worst ?? 'none',
      findings: files.reduce((n, f) => n + f.findings.length, 0),
      scanned_at: now.toISOString(),
    },
    tags: o.tags && Object.keys(o.tags).length ? o.tags : undefined,
    created: now.toISOString(),
  };
  return stripUndefined(m);
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function countBySeverity(findings: readonly Finding[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of SEVERITIES) counts[s] = 0;
  for (const f of findings) counts[f.severity]++;
  return counts;
}

function describeCommit(m: ModelManifest): string {
  const lines = m.artifacts.map((a) => `artifact ${a.path} sha256:${a.sha256} (${a.size} bytes, ${a.format ?? 'unknown'})`);
  for (const p of m.parents ?? []) lines.push(`parent ${p.ref}${p.derivation ? ` (${p.derivation})` : ''}`);
  for (const d of m.datasets ?? []) lines.push(`dataset ${d.name}${d.digest ? ` ${d.digest}` : d.version ? `@${d.version}` : ''}`);
  for (const b of m.provenance?.base_model ?? []) lines.push(`base model ${b}${m.provenance?.base_model_relation ? ` (${m.provenance.base_model_relation})` : ''}`);
  if (m.provenance?.from_model_card?.length) lines.push(`from the model card ${m.provenance.model_card}: ${m.provenance.from_model_card.join(', ')}`);
  lines.push(`scan ${m.scan?.verdict} (worst: ${m.scan?.worst}, ${m.scan?.findings} findings)`);
  if (m.signature) lines.push(`signed by key ${m.signature.key_id}`);
  return lines.join('\n');
}
