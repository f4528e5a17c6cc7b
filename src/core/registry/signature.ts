import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Bytes, sha256File } from '../hash/sha256';
import type { TrustedKey } from '../signing/keys';
import { checkBundle, compareResources, describeChanges, signResources, type VerifyFailure } from '../signing/model';
import { parseBundle, type Bundle, type Resource, type Serialization } from '../signing/oms';
import type { ModelManifest } from './manifest';
import { readSignatureFile, SignaturePathError } from './signature-file';
import type { ContentStore } from './store';

/**
 * A registry version's signature is an OMS bundle (`.sovereign/models/NAME/VERSION.sig`) whose resources
 * are the version's artifacts (named by their manifest path, digests of the stored bytes) AND the manifest
 * file itself (named by its repository path): changing one byte of a weight or of the manifest breaks it.
 */
export const REGISTRY_SERIALIZATION: Serialization = { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: [] };

export function subjectOf(m: ModelManifest): string {
  return `${m.name}@${m.version}`;
}

/** Resources as the manifest records them plus the manifest bytes. */
export function recordedResources(m: ModelManifest, manifestRel: string, manifestBytes: Buffer | string): Resource[] {
  return [...m.artifacts.map((a) => ({ name: a.path, digest: a.sha256 })), { name: manifestRel, digest: sha256Bytes(manifestBytes) }];
}

export function signVersion(m: ModelManifest, manifestRel: string, manifestText: string, privateKey: KeyObject): Bundle {
  return signResources(subjectOf(m), recordedResources(m, manifestRel, manifestText), REGISTRY_SERIALIZATION, privateKey);
}

export interface VersionSignatureStatus {
  status: 'unsigned' | 'valid' | 'invalid';
  keyId?: string;
  keySource?: string;
  failure?: VerifyFailure | 'missing-signature-file' | 'unsafe-signature-path';
  reason?: string;
  changed: string[];
  added: string[];
  missing: string[];
}

/**
 * Checks a version's signature. Without `store` it trusts the manifest's recorded digests (fast: what
 * `policy check` does); with `store` it re-hashes every stored artifact (what `registry verify` does).
 */
export async function checkVersionSignature(
  root: string,
  m: ModelManifest,
  manifestRel: string,
  keys: readonly TrustedKey[],
  revoked: ReadonlyMap<string, string>,
  store?: ContentStore,
): Promise<VersionSignatureStatus> {
  const empty = { changed: [], added: [], missing: [] };
  if (!m.signature) return { status: 'unsigned', ...empty };
  let bundleText: string;
  try {
    bundleText = (await readSignatureFile(root, m.signature.path)).toString('utf8');
  } catch (err) {
    if (err instanceof SignaturePathError && err.kind === 'unsafe') return { status: 'invalid', failure: 'unsafe-signature-path', reason: err.message, ...empty };
    return { status: 'invalid', failure: 'missing-signature-file', reason: `signature file ${m.signature.path} is missing`, ...empty };
  }
  let bundle: Bundle;
  try {
    bundle = parseBundle(bundleText);
  } catch (err) {
    return { status: 'invalid', failure: 'malformed', reason: `${m.signature.path}: ${(err as Error).message}`, ...empty };
  }
  if (!keys.length) {
    return { status: 'invalid', failure: 'unknown-key', reason: 'no trusted keys: list them in signature.trusted_keys of .sovereign/policy.yaml or pass --key', ...empty };
  }
  const checked = checkBundle(bundle, keys, revoked);
  if (!checked.ok) return { status: 'invalid', failure: checked.failure, reason: checked.reason, ...empty };
  let manifestBytes: Buffer;
  try {
    manifestBytes = await readFile(join(root, manifestRel));
  } catch {
    return { status: 'invalid', failure: 'changed', reason: `${manifestRel} is missing`, ...empty, missing: [manifestRel] };
  }
  const actual: Resource[] = [{ name: manifestRel, digest: sha256Bytes(manifestBytes) }];
  const missingObjects: string[] = [];
  for (const a of m.artifacts) {
    if (!store) {
      actual.push({ name: a.path, digest: a.sha256 });
      continue;
    }
    const status = await store.verify(a.sha256);
    if (status === 'missing') missingObjects.push(a.path);
    else actual.push({ name: a.path, digest: status === 'ok' ? a.sha256 : await sha256File(store.objectPath(a.sha256)) });
  }
  const signed = checked.statement.predicate.resources.map((r) => ({ name: r.name, digest: r.digest }));
  const diff = compareResources(signed, actual);
  diff.missing.push(...missingObjects.filter((p) => !diff.missing.includes(p)));
  const signer = { keyId: checked.key.keyId, keySource: checked.key.source };
  if (!diff.changed.length && !diff.added.length && !diff.missing.length) return { status: 'valid', ...signer, ...diff };
  return { status: 'invalid', ...signer, failure: 'changed', reason: `${subjectOf(m)} does not match its signature: ${describeChanges(diff)}`, ...diff };
}
