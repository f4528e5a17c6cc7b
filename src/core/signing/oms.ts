import { createHash, createPublicKey, sign as cryptoSign, verify as cryptoVerify, X509Certificate, type KeyObject } from 'node:crypto';
import { CertificateError, verifyCertificatePath } from './certificates';
import { keyIdOf, hintOf, trustedKey, type TrustedKey } from './keys';

/**
 * OpenSSF Model Signing (OMS) v1.0, keyed mode, as written by sigstore/model-transparency:
 * a Sigstore bundle (v0.3 JSON) whose DSSE envelope carries an in-toto Statement v1 with
 * predicateType https://model_signing/signature/v1.0.
 */
export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPE = 'https://model_signing/signature/v1.0';

/** One hashed file of a model: its POSIX path relative to the model root and its sha256 (hex). */
export interface Resource {
  name: string;
  digest: string;
}

export interface Serialization {
  method: 'files';
  hash_type: 'sha256';
  allow_symlinks: boolean;
  ignore_paths: string[];
}

export interface Statement {
  _type: string;
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: string;
  predicate: {
    serialization: Serialization;
    resources: { name: string; algorithm: string; digest: string }[];
  };
}

/**
 * The two flavours of verification material OMS writes offline: a public key named by its hint (keyed
 * mode), or the signing certificate and its chain, leaf first, DER in base64 (certificate mode).
 */
export type VerificationMaterial =
  | { publicKey: { hint: string }; x509CertificateChain?: undefined; tlogEntries: unknown[] }
  | { publicKey?: undefined; x509CertificateChain: { certificates: { rawBytes: string }[] }; tlogEntries: unknown[] };

export interface Bundle {
  mediaType: string;
  verificationMaterial: VerificationMaterial;
  dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string; keyid: string }[] };
}

/**
 * The reference orders resources like Python's sorted() over PurePosixPath: component by component, not
 * as plain strings ("a/b" sorts before "a.txt" because "a" < "a.txt").
 */
export function compareResourceNames(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return compareCodePoints(pa[i], pb[i]);
  }
  return pa.length - pb.length;
}

function compareCodePoints(a: string, b: string): number {
  const ca = [...a];
  const cb = [...b];
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const d = (ca[i].codePointAt(0) ?? 0) - (cb[i].codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return ca.length - cb.length;
}

/** Subject digest: sha256 over the raw (binary) resource digests, concatenated in resource order. */
export function subjectDigest(resources: readonly Resource[]): string {
  const h = createHash('sha256');
  for (const r of resources) h.update(Buffer.from(r.digest, 'hex'));
  return h.digest('hex');
}

export function buildStatement(modelName: string, resources: readonly Resource[], serialization: Serialization): Statement {
  const sorted = [...resources].sort((a, b) => compareResourceNames(a.name, b.name));
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: modelName, digest: { sha256: subjectDigest(sorted) } }],
    predicateType: PREDICATE_TYPE,
    predicate: {
      serialization,
      resources: sorted.map((r) => ({ name: r.name, algorithm: 'sha256', digest: r.digest })),
    },
  };
}

/** DSSE v1 pre-authentication encoding. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `, 'utf8'), payload]);
}

/**
 * Signs a statement with an EC P-256 private key (ECDSA over SHA-256, DER signature). With `certificates`
 * (the signing certificate first, then its chain) the bundle carries them instead of the key hint.
 */
export function signStatement(statement: Statement, privateKey: KeyObject, options: { certificates?: readonly X509Certificate[] } = {}): Bundle {
  const payload = Buffer.from(JSON.stringify(statement), 'utf8');
  const publicKey = createPublicKey(privateKey);
  const sig = cryptoSign('sha256', pae(PAYLOAD_TYPE, payload), { key: privateKey, dsaEncoding: 'der' });
  const certs = options.certificates ?? [];
  return {
    mediaType: BUNDLE_MEDIA_TYPE,
    verificationMaterial: certs.length
      ? { x509CertificateChain: { certificates: certs.map((c) => ({ rawBytes: c.raw.toString('base64') })) }, tlogEntries: [] }
      : { publicKey: { hint: hintOf(publicKey) }, tlogEntries: [] },
    dsseEnvelope: {
      payload: payload.toString('base64'),
      payloadType: PAYLOAD_TYPE,
      signatures: [{ sig: sig.toString('base64'), keyid: keyIdOf(publicKey) }],
    },
  };
}

/** Why a bundle was refused, in words for people. */
export class BundleError extends Error {
  constructor(
    message: string,
    readonly kind: 'malformed' | 'bad-signature' | 'unknown-key' | 'untrusted-certificate' | 'unsupported',
  ) {
    super(message);
  }
}

/** Parses bundle JSON and checks its shape (no cryptography yet). */
export function parseBundle(text: string): Bundle {
  let b: Bundle;
  try {
    b = JSON.parse(text) as Bundle;
  } catch {
    throw new BundleError('the signature file is not JSON', 'malformed');
  }
  if (b?.mediaType !== BUNDLE_MEDIA_TYPE) throw new BundleError(`not a Sigstore bundle v0.3 (mediaType ${JSON.stringify(b?.mediaType)})`, 'malformed');
  const env = b.dsseEnvelope;
  if (!env || typeof env.payload !== 'string' || !Array.isArray(env.signatures) || !env.signatures.length || typeof env.signatures[0].sig !== 'string') {
    throw new BundleError('the bundle has no DSSE envelope with a signature', 'malformed');
  }
  if (env.payloadType !== PAYLOAD_TYPE) throw new BundleError(`unexpected DSSE payload type ${JSON.stringify(env.payloadType)}`, 'malformed');
  const vm = b.verificationMaterial;
  const certs = vm?.x509CertificateChain?.certificates;
  if (vm?.x509CertificateChain !== undefined) {
    if (!Array.isArray(certs) || !certs.length || certs.some((c) => typeof c?.rawBytes !== 'string')) {
      throw new BundleError('the bundle\'s x509CertificateChain holds no certificates', 'malformed');
    }
  } else if (typeof vm?.publicKey?.hint !== 'string') {
    throw new BundleError('the bundle has neither a public key hint nor a certificate chain in its verificationMaterial', 'malformed');
  }
  return b;
}

/** What a verifier trusts: public keys (keyed mode) and CA certificates (certificate mode). */
export interface TrustAnchors {
  keys: readonly TrustedKey[];
  roots?: readonly X509Certificate[];
}

function keyedSigner(bundle: Bundle, keys: readonly TrustedKey[], message: Buffer): TrustedKey {
  if (!keys.length) throw new BundleError('the signature names a public key, but no public key is trusted here (pass --key PUBLIC.pem)', 'unknown-key');
  const hint = bundle.verificationMaterial.publicKey?.hint;
  const ordered = [...keys].sort((a, b) => Number(b.hint === hint) - Number(a.hint === hint));
  for (const key of ordered) {
    for (const s of bundle.dsseEnvelope.signatures) {
      if (cryptoVerify('sha256', message, { key: key.key, dsaEncoding: 'der' }, Buffer.from(s.sig, 'base64'))) return key;
    }
  }
  const named = keys.some((k) => k.hint === hint);
  throw new BundleError(
    named
      ? 'bad signature: the signature does not match its content (the signature file was altered)'
      : `wrong key: signed by a key that is not trusted here (${keys.length} key${keys.length === 1 ? '' : 's'} tried: ${keys.map((k) => k.keyId.slice(0, 16)).join(', ')})`,
    named ? 'bad-signature' : 'unknown-key',
  );
}

function certificateSigner(bundle: Bundle, roots: readonly X509Certificate[], message: Buffer): TrustedKey {
  let chain: X509Certificate[];
  try {
    chain = bundle.verificationMaterial.x509CertificateChain!.certificates.map((c) => new X509Certificate(Buffer.from(c.rawBytes, 'base64')));
  } catch {
    throw new BundleError('a certificate in the bundle\'s chain cannot be parsed (DER X.509 expected)', 'malformed');
  }
  const [leaf, ...intermediates] = chain;
  let path: X509Certificate[];
  try {
    path = verifyCertificatePath(leaf, intermediates, roots);
  } catch (err) {
    if (err instanceof CertificateError) throw new BundleError(`untrusted certificate: ${err.message}`, 'untrusted-certificate');
    throw err;
  }
  const key = leaf.publicKey;
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new BundleError('the signing certificate\'s key is not EC P-256 (the only curve Sovereign verifies)', 'unsupported');
  }
  const ok = bundle.dsseEnvelope.signatures.some((s) => cryptoVerify('sha256', message, { key, dsaEncoding: 'der' }, Buffer.from(s.sig, 'base64')));
  if (!ok) throw new BundleError('bad signature: the signature does not match its content or its certificate (the signature file was altered)', 'bad-signature');
  const root = path[path.length - 1];
  return trustedKey(key, `certificate "${leaf.subject.replace(/\n/g, ', ')}" issued under CA "${root.subject.replace(/\n/g, ', ')}"`);
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Checks a statement field by field against OMS v1.0 as Sovereign supports it (the `files` serialization
 * with sha256; see docs/signing.md): in-toto Statement v1, the predicate type, one subject whose sha256 is
 * the digest over the resources, resources with a relative POSIX name, algorithm sha256 and a 64-hex digest,
 * each name once. Anything else is refused with the reason, never half-verified.
 */
export function checkStatement(statement: Statement): void {
  if (statement?._type !== STATEMENT_TYPE) throw new BundleError(`the payload is not an in-toto Statement v1 (${statement?._type})`, 'malformed');
  if (statement.predicateType !== PREDICATE_TYPE) throw new BundleError(`unsupported predicate type ${statement.predicateType} (Sovereign verifies ${PREDICATE_TYPE})`, 'unsupported');
  const resources = statement.predicate?.resources;
  if (!Array.isArray(resources) || !resources.length || statement.subject?.length !== 1) throw new BundleError('the statement has no resources or not exactly one subject', 'malformed');
  const ser = statement.predicate.serialization;
  if (!ser || typeof ser !== 'object') throw new BundleError('the statement has no predicate.serialization', 'malformed');
  if (ser.method !== 'files') throw new BundleError(`unsupported OMS serialization method ${JSON.stringify(ser.method)} (Sovereign verifies "files"; re-sign with model_signing's default serialization or \`sovereign sign\`)`, 'unsupported');
  if (ser.hash_type !== 'sha256') throw new BundleError(`unsupported OMS hash_type ${JSON.stringify(ser.hash_type)} (Sovereign verifies sha256)`, 'unsupported');
  if (typeof ser.allow_symlinks !== 'boolean') throw new BundleError('predicate.serialization.allow_symlinks is not a boolean', 'malformed');
  if (ser.ignore_paths !== undefined && (!Array.isArray(ser.ignore_paths) || ser.ignore_paths.some((p) => typeof p !== 'string'))) {
    throw new BundleError('predicate.serialization.ignore_paths is not a list of paths', 'malformed');
  }
  const seen = new Set<string>();
  for (const r of resources) {
    if (typeof r?.name !== 'string' || !r.name || r.name.startsWith('/') || r.name.split('/').some((c) => c === '..' || c === '') || r.name.includes('\\')) {
      throw new BundleError(`resource name ${JSON.stringify(r?.name)} is not a relative POSIX path inside the model`, 'malformed');
    }
    if (r.algorithm !== 'sha256') throw new BundleError(`resource ${r.name}: unsupported digest algorithm ${JSON.stringify(r.algorithm)} (Sovereign verifies sha256)`, 'unsupported');
    if (typeof r.digest !== 'string' || !HEX64.test(r.digest)) throw new BundleError(`resource ${r.name}: digest is not 64 lowercase hex digits`, 'malformed');
    if (seen.has(r.name)) throw new BundleError(`resource ${r.name} is listed twice`, 'malformed');
    seen.add(r.name);
  }
  const subject = statement.subject[0];
  if (typeof subject?.name !== 'string' || typeof subject.digest?.sha256 !== 'string') throw new BundleError('the statement subject has no name or sha256 digest', 'malformed');
  const recomputed = subjectDigest(resources.map((r) => ({ name: r.name, digest: r.digest })));
  if (recomputed !== subject.digest.sha256) {
    throw new BundleError('the statement is inconsistent: its subject digest does not match its resources', 'malformed');
  }
}

/**
 * Verifies the DSSE signature and returns the statement and the key that signed. Keyed bundles: every
 * trusted key is tried (rotation: old and new keys are trusted side by side); the bundle's hint only orders
 * the attempts. Certificate bundles: the chain must lead to a trusted CA, and the signing certificate's key
 * must have signed. A payload that is not an OMS v1.0 statement is refused after the signature check.
 */
export function verifyBundle(bundle: Bundle, trust: readonly TrustedKey[] | TrustAnchors): { statement: Statement; key: TrustedKey } {
  const anchors: TrustAnchors = Array.isArray(trust) ? { keys: trust } : (trust as TrustAnchors);
  const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
  const message = pae(bundle.dsseEnvelope.payloadType, payload);
  const signer = bundle.verificationMaterial.x509CertificateChain
    ? certificateSigner(bundle, anchors.roots ?? [], message)
    : keyedSigner(bundle, anchors.keys, message);
  let statement: Statement;
  try {
    statement = JSON.parse(payload.toString('utf8')) as Statement;
  } catch {
    throw new BundleError('the signed payload is not JSON', 'malformed');
  }
  checkStatement(statement);
  return { statement, key: signer };
}
