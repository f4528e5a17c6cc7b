import { createPublicKey, type KeyObject, type X509Certificate } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { sha256File } from '../hash/sha256';
import { ioError, UsageError } from '../util/errors';
import { writeAtomic } from '../workspace/atomic-write';
import { loadCertificates } from './certificates';
import { keyIdOf, loadPrivateKey, type TrustedKey } from './keys';
import { BundleError, buildStatement, parseBundle, signStatement, verifyBundle, type Bundle, type Resource, type Serialization, type Statement } from './oms';

/** Paths OMS never signs (version-control metadata); the signature file itself is added when inside. */
export const DEFAULT_IGNORE_PATHS = ['.git', '.gitattributes', '.github', '.gitignore'];
export const DEFAULT_SIGNATURE_NAME = 'model.sig';

/** Default signature location: `model.sig` inside a model folder, `FILE.sig` beside a single file. */
export function defaultSignaturePath(modelPath: string, isDirectory: boolean): string {
  return isDirectory ? join(modelPath, DEFAULT_SIGNATURE_NAME) : `${modelPath}.sig`;
}

/** A resource name for people: a single-file model's resource is named "." (as the reference does). */
function displayName(modelPath: string, name: string): string {
  return name === '.' ? basename(modelPath) : name;
}

export interface HashedModel {
  /** Subject name: the final component of the model path. */
  name: string;
  isDirectory: boolean;
  resources: Resource[];
}

/**
 * Hashes a model the way OMS `files` serialization does: every regular file under the folder (or the file
 * itself, named "."), POSIX paths relative to the model root, ignore paths skipped with their contents,
 * and symbolic links refused (allow_symlinks: false).
 */
export async function hashModel(modelPath: string, ignorePaths: readonly string[], options: { signal?: AbortSignal } = {}): Promise<HashedModel> {
  const root = resolve(modelPath);
  let st;
  try {
    st = await lstat(root);
  } catch (err) {
    throw ioError(err, modelPath);
  }
  if (st.isSymbolicLink()) throw new UsageError(`${modelPath} is a symbolic link`, 'sign the real file or folder; OMS signatures do not follow links');
  const name = basename(root);
  if (st.isFile()) return { name, isDirectory: false, resources: [{ name: '.', digest: await sha256File(root, options) }] };
  if (!st.isDirectory()) throw new UsageError(`${modelPath} is neither a file nor a folder`);
  const ignored = (rel: string): boolean => ignorePaths.some((p) => rel === p || rel.startsWith(p + '/'));
  const resources: Resource[] = [];
  const visit = async (dir: string): Promise<void> => {
    for (const entry of (await readdir(dir)).sort()) {
      const abs = join(dir, entry);
      const rel = relative(root, abs).split(sep).join('/');
      if (ignored(rel)) continue;
      const est = await lstat(abs);
      if (est.isSymbolicLink()) throw new SymlinkError(rel);
      if (est.isDirectory()) await visit(abs);
      else if (est.isFile()) {
        options.signal?.throwIfAborted();
        resources.push({ name: rel, digest: await sha256File(abs, options) });
      } else throw new UsageError(`${rel} in ${modelPath} is not a regular file`, 'remove sockets, pipes and devices from the model folder');
    }
  };
  await visit(root);
  if (!resources.length) throw new UsageError(`${modelPath} contains no files to sign`, 'point at the model file or the folder that holds it');
  return { name, isDirectory: true, resources };
}

class SymlinkError extends UsageError {
  constructor(readonly rel: string) {
    super(`${rel} is a symbolic link`, 'OMS signatures do not follow links (allow_symlinks: false): replace it with the real file');
  }
}

function relativeInside(root: string, file: string): string | undefined {
  const rel = relative(resolve(root), resolve(file));
  return rel && !rel.startsWith('..') && !rel.startsWith(sep) ? rel.split(sep).join('/') : undefined;
}

export interface SignResult {
  signaturePath: string;
  keyId: string;
  subject: string;
  resources: Resource[];
}

export interface SignOptions {
  output?: string;
  signal?: AbortSignal;
  /**
   * Certificate flavour: the signing certificate (PEM file; its public key must be the private key's), and
   * the certificates that chain it to the CA (PEM files, any number of certificates each). The bundle then
   * carries the chain instead of the key hint.
   */
  certificate?: string;
  certificateChain?: readonly string[];
}

/** Loads the signing certificate and its chain, and checks the certificate belongs to the private key. */
async function signingCertificates(privateKey: KeyObject, certificate: string | undefined, chain: readonly string[] | undefined): Promise<X509Certificate[] | undefined> {
  if (!certificate) {
    if (chain?.length) throw new UsageError('--cert-chain needs --cert', 'pass the signing certificate with --cert CERT.pem');
    return undefined;
  }
  const [leaf, ...extra] = await loadCertificates([certificate]);
  if (keyIdOf(leaf.publicKey) !== keyIdOfPrivate(privateKey)) {
    throw new UsageError(`${certificate}: its public key is not the signing key's`, 'pass the certificate issued for this private key (or the private key of this certificate)');
  }
  return [leaf, ...extra, ...(chain?.length ? await loadCertificates(chain) : [])];
}

/** Signs a model file or folder and writes the OMS bundle. */
export async function signModel(modelPath: string, key: string | KeyObject, options: SignOptions = {}): Promise<SignResult> {
  const privateKey = typeof key === 'string' ? await loadPrivateKey(key) : key;
  const certificates = await signingCertificates(privateKey, options.certificate, options.certificateChain);
  let isDirectory: boolean;
  try {
    isDirectory = (await lstat(modelPath)).isDirectory();
  } catch (err) {
    throw ioError(err, modelPath);
  }
  const signaturePath = options.output ?? defaultSignaturePath(modelPath, isDirectory);
  const ignore = [...DEFAULT_IGNORE_PATHS];
  const inside = isDirectory ? relativeInside(modelPath, signaturePath) : undefined;
  if (inside) ignore.push(inside);
  const model = await hashModel(modelPath, ignore, options);
  const serialization: Serialization = { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: ignore };
  const bundle = signStatement(buildStatement(model.name, model.resources, serialization), privateKey, { certificates });
  await writeAtomic(signaturePath, JSON.stringify(bundle, null, 2) + '\n');
  return { signaturePath, keyId: bundle.dsseEnvelope.signatures[0].keyid, subject: model.name, resources: model.resources };
}

/** Signs an explicit list of resources (used for registry versions: artifacts plus the manifest). */
export function signResources(subject: string, resources: readonly Resource[], serialization: Serialization, privateKey: KeyObject): Bundle {
  return signStatement(buildStatement(subject, resources, serialization), privateKey);
}

export type VerifyFailure = 'changed' | 'bad-signature' | 'unknown-key' | 'untrusted-certificate' | 'unsupported' | 'revoked' | 'malformed' | 'symlink';

export interface VerifyResult {
  valid: boolean;
  /** Why it is invalid, in one sentence naming the file, the key or the problem. */
  reason?: string;
  failure?: VerifyFailure;
  /** The key that signed (when the signature checked out). */
  keyId?: string;
  keySource?: string;
  subject?: string;
  signaturePath: string;
  resources: number;
  changed: string[];
  added: string[];
  missing: string[];
}

export interface VerifyOptions {
  keys: readonly TrustedKey[];
  /** CA certificates trusted for certificate-flavour signatures. */
  roots?: readonly X509Certificate[];
  signaturePath?: string;
  /** Revoked key ids -> reason. A signature by one of them is refused. */
  revoked?: ReadonlyMap<string, string>;
  signal?: AbortSignal;
}

/** Compares signed resources with actual ones: which files changed, appeared or disappeared. */
export function compareResources(signed: readonly Resource[], actual: readonly Resource[]): { changed: string[]; added: string[]; missing: string[] } {
  const want = new Map(signed.map((r) => [r.name, r.digest]));
  const have = new Map(actual.map((r) => [r.name, r.digest]));
  const changed: string[] = [];
  const added: string[] = [];
  const missing: string[] = [];
  for (const [name, digest] of want) {
    const got = have.get(name);
    if (got === undefined) missing.push(name);
    else if (got !== digest) changed.push(name);
  }
  for (const name of have.keys()) if (!want.has(name)) added.push(name);
  return { changed, added, missing };
}

export function describeChanges(c: { changed: string[]; added: string[]; missing: string[] }): string {
  const parts: string[] = [];
  if (c.changed.length) parts.push(`changed: ${c.changed.join(', ')}`);
  if (c.added.length) parts.push(`added (not signed): ${c.added.join(', ')}`);
  if (c.missing.length) parts.push(`missing: ${c.missing.join(', ')}`);
  return parts.join('; ');
}

/** Checks the signature of a bundle: trusted key, not revoked. Returns the statement or a failure. */
export function checkBundle(
  bundle: Bundle,
  keys: readonly TrustedKey[],
  revoked: ReadonlyMap<string, string> | undefined,
  roots: readonly X509Certificate[] = [],
): { ok: true; statement: Statement; key: TrustedKey } | { ok: false; failure: VerifyFailure; reason: string } {
  let verified;
  try {
    verified = verifyBundle(bundle, { keys, roots });
  } catch (err) {
    if (err instanceof BundleError) return { ok: false, failure: err.kind, reason: err.message };
    throw err;
  }
  const why = revoked?.get(verified.key.keyId);
  if (why !== undefined) {
    return { ok: false, failure: 'revoked', reason: `signed by revoked key ${verified.key.keyId} (${verified.key.source})${why ? `: ${why}` : ''}; it is listed under signature.revoked_keys in the policy` };
  }
  return { ok: true, ...verified };
}

/** Verifies an OMS signature over a model file or folder: exit 0 valid, 1 invalid (see `reason`). */
export async function verifyModel(modelPath: string, options: VerifyOptions): Promise<VerifyResult> {
  let isDirectory: boolean;
  try {
    isDirectory = (await lstat(modelPath)).isDirectory();
  } catch (err) {
    throw ioError(err, modelPath);
  }
  const signaturePath = options.signaturePath ?? defaultSignaturePath(modelPath, isDirectory);
  let text: string;
  try {
    text = await readFile(signaturePath, 'utf8');
  } catch (err) {
    const e = ioError(err, signaturePath);
    throw new UsageError(e.message, 'pass the signature with --signature FILE, or sign first with `sovereign sign`');
  }
  const base: VerifyResult = { valid: false, signaturePath, resources: 0, changed: [], added: [], missing: [] };
  let bundle: Bundle;
  try {
    bundle = parseBundle(text);
  } catch (err) {
    return { ...base, failure: 'malformed', reason: `${signaturePath}: ${(err as Error).message}` };
  }
  if (!options.keys.length && !options.roots?.length) throw new UsageError('no public key or CA certificate to verify with', 'pass --key PUBLIC.pem (repeat it, or pass a folder, to trust several keys) or --ca CA.pem for a certificate signature');
  const checked = checkBundle(bundle, options.keys, options.revoked, options.roots);
  if (!checked.ok) return { ...base, failure: checked.failure, reason: checked.reason };
  const { statement, key } = checked;
  const signedIgnore = Array.isArray(statement.predicate.serialization?.ignore_paths) ? statement.predicate.serialization.ignore_paths.map(String) : [];
  const ignore = [...new Set([...DEFAULT_IGNORE_PATHS, ...signedIgnore])];
  const inside = isDirectory ? relativeInside(modelPath, signaturePath) : undefined;
  if (inside) ignore.push(inside);
  const signer = { keyId: key.keyId, keySource: key.source, subject: statement.subject[0].name };
  let actual: HashedModel;
  try {
    actual = await hashModel(modelPath, ignore, options);
  } catch (err) {
    if (err instanceof SymlinkError) return { ...base, ...signer, failure: 'symlink', reason: err.message };
    throw err;
  }
  const signed = statement.predicate.resources.map((r) => ({ name: r.name, digest: r.digest }));
  const diff = compareResources(signed, actual.resources);
  const named = {
    changed: diff.changed.map((n) => displayName(modelPath, n)),
    added: diff.added.map((n) => displayName(modelPath, n)),
    missing: diff.missing.map((n) => displayName(modelPath, n)),
  };
  const valid = !named.changed.length && !named.added.length && !named.missing.length;
  return {
    ...base,
    ...signer,
    ...named,
    valid,
    resources: signed.length,
    failure: valid ? undefined : 'changed',
    reason: valid ? undefined : `the model does not match its signature: ${describeChanges(named)}`,
  };
}

/** The key id a private key signs as (for messages and manifests). */
export function keyIdOfPrivate(privateKey: KeyObject): string {
  return keyIdOf(createPublicKey(privateKey));
}
