import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { appendAudit } from '../audit/log';
import { isBlocking, worstSeverity } from '../formats/findings';
import { formatOciReference, openTarget, parseOciReference, type Credentials, type OciTarget } from '../oci';
import { MAX_MANIFEST_BYTES, OCI_MANIFEST, type Descriptor, type ImageManifest } from '../oci/types';
import { applyExceptions, policyKeys, revokedKeys, signatureViolations } from '../policy/evaluate';
import { loadPolicy } from '../policy/load';
import { manifestViolations } from '../policy/rules';
import { withRegistryLock } from '../registry/lock';
import { parseManifest, type ModelManifest } from '../registry/manifest';
import { loadRegistry } from '../registry/read';
import { checkVersionSignature, type VersionSignatureStatus } from '../registry/signature';
import { readSignatureFile, signaturePathProblem } from '../registry/signature-file';
import { ContentStore } from '../registry/store';
import { RegistryTransaction } from '../registry/transaction';
import { reportBlocks, scanFile, scanPaths, type FileReport } from '../scan/scanner';
import { toSarif } from '../scan/sarif';
import { BUNDLE_MEDIA_TYPE } from '../signing/oms';
import { IoError, ioError, RefusedError, UsageError } from '../util/errors';
import { VERSION as TOOL_VERSION } from '../version';
import { AUDIT_FILE, manifestRelPath, resolveStoreRoot, signatureRelPath } from '../workspace/workspace';
import { EMPTY_JSON } from '../oci/types';
import {
  ANNOTATION_CREATED,
  ANNOTATION_FILEPATH,
  ANNOTATION_KEY_ID,
  digestOf,
  EMPTY_CONFIG,
  MODEL_ARTIFACT_TYPE,
  MODEL_CONFIG,
  packageVersion,
  referrerManifest,
  SARIF_ARTIFACT_TYPE,
  SOVEREIGN_MANIFEST,
} from './oci-package';
import { workspaceTrustedKeys } from './trusted-keys';
import { publishedVersions } from './oci-publications';

export interface OciConnectOptions {
  /** PEM file of the CA that signed the registry's TLS certificate. */
  caFile?: string;
  /** Plain HTTP to a registry that is not on loopback. */
  insecure?: boolean;
  /** Explicit credentials; else the docker config file / credential helpers. */
  credentials?: Credentials;
  env?: NodeJS.ProcessEnv;
  chunkSize?: number;
  signal?: AbortSignal;
  /** Stages for progress lines: check, scan, upload, download, signature, policy, store, commit. */
  onStage?: (stage: string, detail?: string) => void;
  /** Bytes moved of the current blob. */
  onProgress?: (done: number, total: number, what: string) => void;
  /** Resolver for the egress check (tests). */
  lookup?: (host: string) => Promise<string[]>;
}

export interface PushOptions extends OciConnectOptions {
  /** Other repositories of the same registry to mount blobs from instead of uploading them. */
  mountFrom?: string[];
  /** More tags for the same manifest (e.g. the version's aliases). */
  extraTags?: string[];
}

export interface PushResult {
  model: string;
  target: string;
  tag: string;
  digest: string;
  layers: { path: string; digest: string; size: number; outcome: string }[];
  referrers: { artifactType: string; digest: string }[];
  signed: boolean;
}

export async function connect(root: string, ref: string, access: 'push' | 'pull', options: OciConnectOptions): Promise<{ target: OciTarget; parsed: ReturnType<typeof parseOciReference> }> {
  const parsed = parseOciReference(ref);
  let ca: Buffer | undefined;
  if (options.caFile) {
    try {
      ca = await readFile(options.caFile);
    } catch (err) {
      throw ioError(err, options.caFile);
    }
  }
  const { policy } = await loadPolicy(root);
  const target = openTarget(parsed, {
    access,
    ca,
    insecure: options.insecure,
    credentials: options.credentials,
    env: options.env,
    chunkSize: options.chunkSize,
    allowed: policy.endpoints?.allowed,
    audit: { root },
    lookup: options.lookup,
  });
  return { target, parsed };
}

/**
 * Publishes a registered version as a ModelPack OCI artifact: the gate first (its signature verifies against
 * the workspace's trusted keys, the policy's signature rule holds, a fresh scan of the stored bytes does not
 * block), then the blobs (HEAD first, cross-repository mount, chunked resumable upload, streamed from the
 * content store), the manifest under its tag, and the signature bundle and the SARIF scan report as referrers.
 */
export async function pushVersion(root: string, modelRef: string, destination: string, options: PushOptions = {}): Promise<PushResult> {
  const stage = options.onStage ?? (() => undefined);
  const registry = await loadRegistry(root);
  const entry = registry.resolve(modelRef);
  const m = entry.manifest;
  const subject = `${m.name}@${m.version}`;
  const store = new ContentStore(await resolveStoreRoot(root));
  let manifestText: Buffer;
  try {
    manifestText = await readFile(join(root, entry.file));
  } catch (err) {
    throw ioError(err, entry.file);
  }

  // The gate on the way out: a version whose signature does not hold, or that the policy or scanner would now refuse, is not published.
  stage('check', subject);
  const { policy } = await loadPolicy(root);
  const status = await checkVersionSignature(root, m, entry.file, await policyKeys(root, policy), revokedKeys(policy));
  const required = policy.signature?.required ? 'the policy requires every version to be signed' : undefined;
  // A key this workspace does not list is the puller's decision (its trusted keys); changed bytes are never published.
  if (status.status === 'invalid' && status.failure === 'unknown-key') stage('warning', `the signature of ${subject} is by a key this workspace does not trust (${status.reason}); the puller's trusted keys decide`);
  else if (status.status === 'invalid') throw new RefusedError(`${subject} is not published: its signature does not verify (${status.reason})`, 'run `sovereign registry verify` and sign it again with a trusted key');
  const sigViolations = signatureViolations(status, required);
  if (sigViolations.length) throw new RefusedError(`${subject} is not published: ${sigViolations.map((v) => v.message).join('; ')}`, sigViolations[0].fix);

  stage('scan', subject);
  const files: FileReport[] = [];
  for (const a of m.artifacts) {
    if (!(await store.has(a.sha256))) throw new IoError(`${subject}: artifact ${a.path} (sha256:${a.sha256}) is missing from the store`, 'run `sovereign registry verify` to see what is missing');
    files.push({ ...(await scanFile(store.objectPath(a.sha256), { skipHash: true, signal: options.signal })), path: a.path, sha256: a.sha256 });
  }
  const report = { files };
  if (reportBlocks(report)) {
    const worst = worstSeverity(files.flatMap((f) => f.findings));
    throw new RefusedError(`${subject} is not published: the scan of the stored files found ${worst} findings`, `run \`sovereign scan\` on its files; register a fixed version`);
  }
  const sarif = Buffer.from(JSON.stringify(toSarif(report, { toolVersion: TOOL_VERSION, baseDir: root })));

  const pkg = packageVersion(m, entry.file, manifestText);
  const { target, parsed } = await connect(root, destination, 'push', options);
  if (parsed.digest) {
    target.close();
    throw new UsageError(`cannot push to a digest (${destination})`, 'push to a tag: oci://HOST/REPO:TAG (the tag defaults to the version)');
  }
  const tag = parsed.tag ?? m.version;
  // Blobs this workspace already published to other repositories of the same registry are mounted, not sent.
  const mountFrom = options.mountFrom ?? (parsed.kind === 'registry' ? await knownRepositories(root, parsed.host, parsed.repository) : undefined);
  options = { ...options, mountFrom };
  try {
    const signal = options.signal;
    const fromBytes = (bytes: Buffer) => (start: number, end: number) => Readable.from([bytes.subarray(start, end)]);
    const pushBytes = (desc: Descriptor, bytes: Buffer) => target.pushBlob(desc, { open: fromBytes(bytes), signal, mountFrom: options.mountFrom });
    stage('upload', `${pkg.layers.length + 1} layers to ${target.display}`);
    await pushBytes(pkg.config.descriptor, pkg.config.bytes);
    const layers: PushResult['layers'] = [];
    for (const l of pkg.layers) {
      const path = store.objectPath(l.artifact.sha256);
      stage('upload', l.artifact.path);
      const outcome = await target.pushBlob(l.descriptor, {
        open: (start, end) => createReadStream(path, { start, end: end - 1, highWaterMark: 1024 * 1024 }),
        mountFrom: options.mountFrom,
        signal,
        onProgress: (done, total) => options.onProgress?.(done, total, l.artifact.path),
      });
      layers.push({ path: l.artifact.path, digest: l.descriptor.digest, size: l.descriptor.size, outcome });
    }
    layers.push({ path: entry.file, digest: pkg.manifestLayer.descriptor.digest, size: pkg.manifestLayer.descriptor.size, outcome: await pushBytes(pkg.manifestLayer.descriptor, pkg.manifestLayer.bytes) });
    stage('manifest', `${target.display}:${tag}`);
    const digest = await target.putManifest(pkg.manifest.bytes, OCI_MANIFEST, tag, signal);
    for (const extra of options.extraTags ?? []) if (extra !== tag) await target.putManifest(pkg.manifest.bytes, OCI_MANIFEST, extra, signal);

    const referrers: PushResult['referrers'] = [];
    const now = new Date().toISOString();
    await pushBytes(EMPTY_CONFIG, EMPTY_JSON);
    if (m.signature) {
      stage('referrers', 'signature');
      const bundle = await readSignatureFile(root, m.signature.path);
      const layer: Descriptor = { mediaType: BUNDLE_MEDIA_TYPE, digest: digestOf(bundle), size: bundle.length, annotations: { [ANNOTATION_FILEPATH]: m.signature.path } };
      await pushBytes(layer, bundle);
      const annotations = { [ANNOTATION_CREATED]: now, [ANNOTATION_KEY_ID]: m.signature.key_id };
      const ref = await target.putReferrer(referrerManifest(BUNDLE_MEDIA_TYPE, layer, pkg.manifest.descriptor, annotations), OCI_MANIFEST, BUNDLE_MEDIA_TYPE, pkg.manifest.descriptor, annotations, signal);
      referrers.push({ artifactType: BUNDLE_MEDIA_TYPE, digest: ref });
    }
    stage('referrers', 'scan report');
    const sarifLayer: Descriptor = { mediaType: SARIF_ARTIFACT_TYPE, digest: digestOf(sarif), size: sarif.length };
    await pushBytes(sarifLayer, sarif);
    const sarifAnnotations = { [ANNOTATION_CREATED]: now };
    const sarifRef = await target.putReferrer(referrerManifest(SARIF_ARTIFACT_TYPE, sarifLayer, pkg.manifest.descriptor, sarifAnnotations), OCI_MANIFEST, SARIF_ARTIFACT_TYPE, pkg.manifest.descriptor, sarifAnnotations, signal);
    referrers.push({ artifactType: SARIF_ARTIFACT_TYPE, digest: sarifRef });

    const where = formatOciReference({ ...parsed, tag, digest: undefined });
    await appendAudit(root, { action: 'push', subject, details: { target: where, digest, tag, layers: layers.length, signed: !!m.signature, referrers: referrers.map((r) => r.digest) } });
    return { model: subject, target: where, tag, digest, layers, referrers, signed: !!m.signature };
  } finally {
    target.close();
  }
}

export interface PullResult {
  model: string;
  source: string;
  digest: string;
  /** Already registered with the same manifest: nothing was written. */
  alreadyRegistered: boolean;
  signature: { status: VersionSignatureStatus['status']; keyId?: string };
  commit?: string;
  manifestFile?: string;
}

/** A pull refused by the gate (exit 1): digest, signature, scan or policy. */
export class PullRefused extends RefusedError {
  constructor(
    message: string,
    hint: string,
    readonly stage: 'artifact' | 'digest' | 'signature' | 'scan' | 'policy',
  ) {
    super(message, hint);
  }
}

const MAX_SMALL_BLOB = MAX_MANIFEST_BYTES;

async function smallBlob(target: OciTarget, desc: Descriptor, signal?: AbortSignal): Promise<Buffer> {
  if (desc.size > MAX_SMALL_BLOB) throw new PullRefused(`${target.display}: blob ${desc.digest} (${desc.mediaType}) is ${desc.size} bytes, over ${MAX_SMALL_BLOB}`, 'this is not an artifact sovereign pushed', 'artifact');
  const stream = await target.getBlob(desc, signal);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream) {
    n += (chunk as Buffer).length;
    if (n > desc.size) {
      stream.destroy();
      break;
    }
    chunks.push(chunk as Buffer);
  }
  const bytes = Buffer.concat(chunks);
  if (bytes.length !== desc.size || digestOf(bytes) !== desc.digest) {
    throw new PullRefused(`${target.display}: blob ${desc.digest} does not match its digest (got ${digestOf(bytes)}, ${bytes.length} bytes): refused`, 'the copy in the registry was changed or corrupted: push the version again from a trusted workspace', 'digest');
  }
  return bytes;
}

/** Downloads a blob to `file`, hashing as it streams; refuses a digest or size mismatch. Constant memory. */
async function downloadBlob(target: OciTarget, desc: Descriptor, file: string, options: OciConnectOptions, what: string): Promise<void> {
  const stream = await target.getBlob(desc, options.signal);
  const hash = createHash('sha256');
  let n = 0;
  await mkdir(dirname(file), { recursive: true });
  await pipeline(
    stream,
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        n += chunk.length;
        if (n > desc.size) throw new PullRefused(`${target.display}: blob ${desc.digest} (${what}) is longer than the ${desc.size} bytes its descriptor says: refused`, 'the copy in the registry was changed: push it again from a trusted workspace', 'digest');
        hash.update(chunk);
        options.onProgress?.(n, desc.size, what);
        yield chunk;
      }
    },
    createWriteStream(file, { mode: 0o600 }),
    { signal: options.signal },
  );
  const digest = `sha256:${hash.digest('hex')}`;
  if (digest !== desc.digest || n !== desc.size) {
    throw new PullRefused(`${target.display}: blob ${desc.digest} (${what}) does not match its digest (got ${digest}, ${n} bytes): refused, nothing was registered`, 'the copy in the registry was changed or corrupted: push the version again from a trusted workspace', 'digest');
  }
  await chmod(file, 0o444);
}

function parseJson<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch {
    throw new PullRefused(`${what} is not JSON`, 'this is not an artifact sovereign pushed', 'artifact');
  }
}

/**
 * Pulls a model artifact through the gate, as admission does: every digest is checked (manifest, config,
 * layers, the signature bundle), the signature verifies against the workspace's trusted keys, the policy
 * holds (its signature rule included), the real scanner passes the downloaded files; only then are they
 * stored and the manifest and signature committed in one registry transaction. Any refusal or failure leaves
 * the registry as it was (refused files stay in quarantine for inspection only when the scan refused them).
 */
export async function pullArtifact(root: string, source: string, options: OciConnectOptions = {}): Promise<PullResult> {
  const stage = options.onStage ?? (() => undefined);
  const { target, parsed } = await connect(root, source, 'pull', options);
  const signal = options.signal;
  try {
    const reference = parsed.digest ?? parsed.tag ?? (parsed.kind === 'registry' ? 'latest' : undefined);
    if (!reference) throw new UsageError(`${source} names no tag or digest`, 'write oci:DIR:TAG (the tag is the version unless push was given one)');
    stage('manifest', `${target.display} ${reference}`);
    const fetched = await target.getManifest(reference, signal);
    const image = parseJson<ImageManifest>(fetched.bytes, `${target.display} ${reference}`);
    if (!image || !image.config || !Array.isArray(image.layers)) throw new PullRefused(`${target.display} ${reference} is not an OCI image manifest`, 'pull a model artifact pushed by `sovereign push`', 'artifact');
    if (image.config.mediaType !== MODEL_CONFIG && image.artifactType !== MODEL_ARTIFACT_TYPE) {
      throw new PullRefused(`${target.display} ${reference} is not a ModelPack model artifact (config ${image.config.mediaType})`, 'pull a model artifact pushed by `sovereign push`', 'artifact');
    }
    const manifestLayers = image.layers.filter((l) => l.mediaType === SOVEREIGN_MANIFEST);
    if (manifestLayers.length !== 1) throw new PullRefused(`${target.display} ${reference} carries ${manifestLayers.length} sovereign manifest layers (${SOVEREIGN_MANIFEST}), not one`, 'pull an artifact pushed by `sovereign push`', 'artifact');
    const manifestRel = manifestLayers[0].annotations?.[ANNOTATION_FILEPATH] ?? '';
    const text = (await smallBlob(target, manifestLayers[0], signal)).toString('utf8');
    const parsedManifest = parseManifest(text, manifestRel);
    if (!parsedManifest.manifest) throw new PullRefused(`the manifest in ${target.display} is invalid: ${parsedManifest.problems.map((p) => p.message).join('; ')}`, 'push it again from a workspace that validates it', 'artifact');
    const m: ModelManifest = parsedManifest.manifest;
    const subject = `${m.name}@${m.version}`;
    if (manifestRel !== manifestRelPath(m.name, m.version)) throw new PullRefused(`the manifest layer of ${subject} is named "${manifestRel}", not ${manifestRelPath(m.name, m.version)}`, 'push it again with `sovereign push`', 'artifact');
    const config = parseJson<{ descriptor?: { name?: string; version?: string } }>(await smallBlob(target, image.config, signal), 'the ModelPack config');
    if (config.descriptor?.name !== m.name || config.descriptor?.version !== m.version) throw new PullRefused(`the ModelPack config names ${config.descriptor?.name}@${config.descriptor?.version}, the manifest ${subject}`, 'push it again with `sovereign push`', 'artifact');

    // Every artifact of the manifest is exactly one layer with the same path and digest; nothing else rides along.
    const weightLayers = image.layers.filter((l) => l !== manifestLayers[0]);
    const byPath = new Map<string, Descriptor>();
    for (const l of weightLayers) {
      const path = l.annotations?.[ANNOTATION_FILEPATH];
      if (!path || byPath.has(path)) throw new PullRefused(`layer ${l.digest} of ${subject} has ${path ? 'a duplicate' : 'no'} ${ANNOTATION_FILEPATH} annotation`, 'push it again with `sovereign push`', 'artifact');
      byPath.set(path, l);
    }
    for (const a of m.artifacts) {
      const problem = signaturePathProblem(a.path);
      if (problem) throw new PullRefused(`artifact path "${a.path}" of ${subject} is refused: ${problem}`, 'a manifest names files inside the model folder', 'artifact');
      const l = byPath.get(a.path);
      if (!l || l.digest !== `sha256:${a.sha256}` || l.size !== a.size) throw new PullRefused(`layer for ${a.path} of ${subject} ${l ? `is ${l.digest} (${l.size} bytes), the manifest records sha256:${a.sha256} (${a.size} bytes)` : 'is missing'}`, 'the artifact does not match its manifest: push it again from a trusted workspace', 'digest');
      byPath.delete(a.path);
    }
    if (byPath.size) throw new PullRefused(`${subject} carries layers its manifest does not list: ${[...byPath.keys()].join(', ')}`, 'push it again with `sovereign push`', 'artifact');

    // The signature: the bundle referrer, verified against this workspace's trusted keys.
    stage('signature', subject);
    const { policy } = await loadPolicy(root);
    let bundle: Buffer | undefined;
    if (m.signature) {
      if (m.signature.path !== signatureRelPath(m.name, m.version)) throw new PullRefused(`the manifest of ${subject} names signature file "${m.signature.path}", not ${signatureRelPath(m.name, m.version)}`, 'push it again with `sovereign push`', 'artifact');
      // A copy may have lost the descriptors' artifactType (skopeo 1.9 rewrites indexes): read those manifests too.
      const refs = (await target.referrers(fetched.digest, signal)).filter((d) => d.artifactType === BUNDLE_MEDIA_TYPE || d.artifactType === undefined);
      for (const d of refs) {
        const rm = parseJson<ImageManifest>((await target.getManifest(d.digest, signal)).bytes, `referrer ${d.digest}`);
        if (rm.subject?.digest !== fetched.digest) continue;
        const layer = rm.layers?.find((l) => l.mediaType === BUNDLE_MEDIA_TYPE);
        if (!layer) continue;
        bundle = await smallBlob(target, layer, signal);
        break;
      }
    }
    const status = await verifyPulledSignature(m, text, bundle, root, policy);
    const required = policy.signature?.required ? 'the policy requires every version to be signed' : undefined;
    if (status.status === 'invalid' && status.failure !== 'revoked') {
      throw new PullRefused(`${subject} refused: its signature does not verify: ${status.reason}`, 'pull only versions signed by a key in signature.trusted_keys of .sovereign/policy.yaml', 'signature');
    }

    const existing = (await loadRegistry(root)).get(m.name, m.version);
    if (existing) {
      const current = await readFile(join(root, existing.file), 'utf8').catch(() => '');
      if (current === text) return { model: subject, source: formatOciReference({ ...parsed, digest: fetched.digest }), digest: fetched.digest, alreadyRegistered: true, signature: { status: status.status, keyId: status.keyId } };
      throw new PullRefused(`${subject} is already registered here with a different manifest`, 'versions are immutable: remove or rename one of them, or pull another version', 'policy');
    }

    // The policy, before any weight is downloaded.
    stage('policy', subject);
    const now = new Date();
    const raw = [...manifestViolations(policy, m), ...signatureViolations(status, required)];
    const { standing, waived } = applyExceptions(policy, raw, m.name, m.version, now);
    if (standing.length) {
      throw new PullRefused(`${subject} refused by the policy:\n${standing.map((v) => `  [${v.rule}] ${v.message}; ${v.fix}`).join('\n')}`, 'pull a version that satisfies .sovereign/policy.yaml, or add a justified, time-limited exception', 'policy');
    }

    // Download into quarantine (the store's filesystem), every byte hashed on the way.
    const store = new ContentStore(await resolveStoreRoot(root));
    const quarantine = await store.newQuarantine();
    let keepQuarantine = false;
    try {
      for (const a of m.artifacts) {
        stage('download', a.path);
        await downloadBlob(target, { mediaType: '', digest: `sha256:${a.sha256}`, size: a.size }, join(quarantine, a.path), options, a.path);
      }
      stage('scan', subject);
      const report = await scanPaths([quarantine], { signal });
      if (reportBlocks(report)) {
        keepQuarantine = true;
        const blocking = report.files.filter((f) => f.findings.some((x) => isBlocking(x.severity)));
        throw new PullRefused(`${subject} refused: the scan found high or critical findings in ${blocking.map((f) => f.path.slice(quarantine.length + 1)).join(', ')}`, `the files stay in quarantine at ${quarantine}; inspect them with \`sovereign scan ${quarantine}\`, then delete that folder`, 'scan');
      }
      const worst = worstSeverity(report.files.flatMap((f) => f.findings));

      stage('store', subject);
      const result = await withRegistryLock(
        root,
        async () => {
          if ((await loadRegistry(root)).get(m.name, m.version)) throw new PullRefused(`${subject} was registered while it was pulled`, 'pull again to compare', 'policy');
          const tx = new RegistryTransaction(root, { trustedKeys: () => workspaceTrustedKeys(root) });
          await tx.snapshot(AUDIT_FILE);
          const added: string[] = [];
          try {
            for (const a of m.artifacts) {
              const put = await store.put(join(quarantine, a.path), a.sha256);
              if (put.added) added.push(a.sha256);
            }
            const manifestFile = manifestRelPath(m.name, m.version);
            await tx.write(manifestFile, text);
            if (bundle && m.signature) await tx.write(m.signature.path, bundle.toString('utf8'));
            const where = formatOciReference({ ...parsed, digest: fetched.digest });
            await tx.audit({ action: 'scan', subject, details: { verdict: 'pass', worst: worst ?? 'none', files: report.files.length, source: where } });
            await tx.audit({ action: 'pull', subject, details: { source: where, digest: fetched.digest, signature: status.status, keyId: status.keyId, artifacts: m.artifacts.length } });
            for (const w of waived) {
              await tx.audit({ action: 'policy-exception', subject, details: { rule: w.raw.rule, reason: w.exception.justification, expires: w.exception.expires, approver: w.exception.approved_by, use: 'pull' } });
            }
            stage('commit', subject);
            const commit = await tx.commit(`registry: pull ${subject} from ${where}\n\n${m.artifacts.map((a) => `artifact ${a.path} sha256:${a.sha256}`).join('\n')}\nsignature ${status.status}${status.keyId ? ` (key ${status.keyId})` : ''}`);
            return { commit, manifestFile };
          } catch (err) {
            await tx.rollback();
            for (const sha of added) await store.removeAdded(sha);
            throw err;
          }
        },
        { command: `pull ${subject}` },
      );
      return { model: subject, source: formatOciReference({ ...parsed, digest: fetched.digest }), digest: fetched.digest, alreadyRegistered: false, signature: { status: status.status, keyId: status.keyId }, ...result };
    } finally {
      if (!keepQuarantine) await rm(quarantine, { recursive: true, force: true }).catch(() => undefined);
    }
  } finally {
    target.close();
  }
}

/**
 * Verifies the bundle as `registry verify` would once the files are in place: the manifest and bundle are
 * laid out in a scratch folder at their workspace paths, and the recorded artifact digests (each already
 * matched to its layer's digest, and every downloaded byte is checked against it) stand for the weights.
 */
async function verifyPulledSignature(m: ModelManifest, text: string, bundle: Buffer | undefined, root: string, policy: Awaited<ReturnType<typeof loadPolicy>>['policy']): Promise<VersionSignatureStatus> {
  if (!m.signature) return { status: 'unsigned', changed: [], added: [], missing: [] };
  if (!bundle) return { status: 'invalid', failure: 'missing-signature-file', reason: `the manifest records a signature (key ${m.signature.key_id}) but no signature bundle is attached as a referrer`, changed: [], added: [], missing: [] };
  const scratch = await mkdtemp(join(tmpdir(), 'sovereign-pull-'));
  try {
    const rel = manifestRelPath(m.name, m.version);
    await mkdir(dirname(join(scratch, rel)), { recursive: true });
    await writeFile(join(scratch, rel), text);
    await writeFile(join(scratch, m.signature.path), bundle);
    return await checkVersionSignature(scratch, m, rel, await policyKeys(root, policy), revokedKeys(policy));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Repositories of `host` this workspace pushed to (the audit log's push entries), other than `except`. */
async function knownRepositories(root: string, host: string, except: string): Promise<string[]> {
  const repos = new Set<string>();
  for (const list of (await publishedVersions(root).catch(() => new Map())).values()) {
    for (const p of list as { target: string }[]) {
      try {
        const ref = parseOciReference(p.target);
        if (ref.kind === 'registry' && ref.host === host && ref.repository !== except) repos.add(ref.repository);
      } catch {
        // an entry we cannot read: no mount source
      }
    }
  }
  return [...repos].slice(0, 5);
}
