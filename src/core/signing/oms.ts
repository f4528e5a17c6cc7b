import { createHash, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { keyIdOf, hintOf, type TrustedKey } from './keys';

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

export interface Bundle {
  mediaType: string;
  verificationMaterial: { publicKey: { hint: string }; tlogEntries: unknown[] };
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

/** Signs a statement with an EC P-256 private key (ECDSA over SHA-256, DER signature). */
export function signStatement(statement: Statement, privateKey: KeyObject): Bundle {
  const payload = Buffer.from(JSON.stringify(statement), 'utf8');
  const publicKey = createPublicKey(privateKey);
  const sig = cryptoSign('sha256', pae(PAYLOAD_TYPE, payload), { key: privateKey, dsaEncoding: 'der' });
  return {
    mediaType: BUNDLE_MEDIA_TYPE,
    verificationMaterial: { publicKey: { hint: hintOf(publicKey) }, tlogEntries: [] },
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
    readonly kind: 'malformed' | 'bad-signature' | 'unknown-key',
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
  return b;
}

/**
 * Verifies the DSSE signature with the trusted keys and returns the statement and the key that signed.
 * Every key is tried (rotation: old and new keys are trusted side by side); the bundle's hint only orders
 * the attempts. A payload that is not an OMS v1.0 statement is refused after the signature check.
 */
export function verifyBundle(bundle: Bundle, keys: readonly TrustedKey[]): { statement: Statement; key: TrustedKey } {
  const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
  const message = pae(bundle.dsseEnvelope.payloadType, payload);
  const hint = bundle.verificationMaterial?.publicKey?.hint;
  const ordered = [...keys].sort((a, b) => Number(b.hint === hint) - Number(a.hint === hint));
  let signer: TrustedKey | undefined;
  for (const key of ordered) {
    for (const s of bundle.dsseEnvelope.signatures) {
      if (cryptoVerify('sha256', message, { key: key.key, dsaEncoding: 'der' }, Buffer.from(s.sig, 'base64'))) {
        signer = key;
        break;
      }
    }
    if (signer) break;
  }
  if (!signer) {
    const named = keys.some((k) => k.hint === hint);
    throw new BundleError(
      named
        ? 'bad signature: the signature does not match its content (the signature file was altered)'
        : `wrong key: signed by a key that is not trusted here (${keys.length} key${keys.length === 1 ? '' : 's'} tried: ${keys.map((k) => k.keyId.slice(0, 16)).join(', ')})`,
      named ? 'bad-signature' : 'unknown-key',
    );
  }
  let statement: Statement;
  try {
    statement = JSON.parse(payload.toString('utf8')) as Statement;
  } catch {
    throw new BundleError('the signed payload is not JSON', 'malformed');
  }
  if (statement._type !== STATEMENT_TYPE) throw new BundleError(`the payload is not an in-toto Statement v1 (${statement._type})`, 'malformed');
  if (statement.predicateType !== PREDICATE_TYPE) throw new BundleError(`unsupported predicate type ${statement.predicateType}`, 'malformed');
  const resources = statement.predicate?.resources;
  if (!Array.isArray(resources) || statement.subject?.length !== 1) throw new BundleError('the statement has no resources or not exactly one subject', 'malformed');
  const recomputed = subjectDigest(resources.map((r) => ({ name: r.name, digest: r.digest })));
  if (recomputed !== statement.subject[0].digest?.sha256) {
    throw new BundleError('the statement is inconsistent: its subject digest does not match its resources', 'malformed');
  }
  return { statement, key: signer };
}
