import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadPolicy } from '../policy/load';
import { policyKeys, revokedKeys } from '../policy/evaluate';
import { addRevokedKey, addTrustedKeyPath } from '../policy/edit-signature';
import { keyMaterialOf, newKeyMaterial, privateKeyFromPem, type KeyMaterial } from '../signing/keys';
import { appendAudit } from '../audit/log';
import { ioError } from '../util/errors';
import { POLICY_FILE, SOVEREIGN_DIR } from '../workspace/workspace';

/**
 * Signing keys of a workspace: where public keys are kept (`.sovereign/keys/`), which are trusted
 * (`signature.trusted_keys`) and which revoked (`signature.revoked_keys`). The private half never touches
 * the workspace: the CLI keeps it in a file the user chose, the extension in SecretStorage.
 */

export const KEYS_DIR = `${SOVEREIGN_DIR}/keys`;

/** The repository path of a key's public PEM in the workspace. */
export function publicKeyFile(keyId: string): string {
  return `${KEYS_DIR}/${keyId.slice(0, 16)}.pub.pem`;
}

export interface TrustResult {
  keyId: string;
  /** Repository-relative path of the public key. */
  file: string;
  /** false when the policy already trusted it. */
  added: boolean;
}

/** Writes a public key into `.sovereign/keys/` and lists it under `signature.trusted_keys`. */
export async function trustPublicKey(root: string, material: Pick<KeyMaterial, 'publicPem' | 'keyId'>): Promise<TrustResult> {
  const file = publicKeyFile(material.keyId);
  const abs = join(root, file);
  try {
    await mkdir(dirname(abs), { recursive: true });
    await writeFile(abs, material.publicPem);
  } catch (err) {
    throw ioError(err, abs, 'write');
  }
  const { policy } = await loadPolicy(root);
  const already = (await policyKeys(root, policy)).some((k) => k.keyId === material.keyId);
  const added = already ? false : await addTrustedKeyPath(join(root, POLICY_FILE), file);
  return { keyId: material.keyId, file, added };
}

/** Parses a private key someone imports (PEM text); refuses what is not an EC P-256 private key. */
export function importPrivateKey(pem: string, source: string): KeyMaterial {
  return keyMaterialOf(privateKeyFromPem(pem, source));
}

export interface WorkspaceKey {
  keyId: string;
  source: string;
  revoked?: string;
}

/** The keys the policy names: trusted ones, each with its revocation reason when revoked. */
export async function listWorkspaceKeys(root: string): Promise<WorkspaceKey[]> {
  const { policy } = await loadPolicy(root);
  const revoked = revokedKeys(policy);
  const keys: WorkspaceKey[] = (await policyKeys(root, policy)).map((k) => ({ keyId: k.keyId, source: k.source, ...(revoked.has(k.keyId) ? { revoked: revoked.get(k.keyId) || 'revoked' } : {}) }));
  for (const [keyId, reason] of revoked) if (!keys.some((k) => k.keyId === keyId)) keys.push({ keyId, source: 'signature.revoked_keys', revoked: reason || 'revoked' });
  return keys;
}

/**
 * Revokes a key: `signature.revoked_keys` gets its id, the reason and today's date. Every signature by it is
 * refused from then on (verify, registry verify, aliases, deploy gates), naming the key and the reason.
 */
export async function revokeKey(root: string, keyId: string, reason: string, now = new Date()): Promise<{ keyId: string; added: boolean }> {
  const added = await addRevokedKey(join(root, POLICY_FILE), { key_id: keyId, reason: reason.trim() || undefined, revoked_at: now.toISOString().slice(0, 10) });
  if (added) await appendAudit(root, { action: 'key-revoke', subject: keyId, details: { reason } }).catch(() => undefined);
  return { keyId, added };
}

export interface RotationResult {
  /** The new key: store `privatePem` where the old one was (SecretStorage). */
  material: KeyMaterial;
  trusted: TrustResult;
  oldKeyId?: string;
  /** Set when the old key was revoked as part of the rotation. */
  revokedOld?: boolean;
}

/**
 * Rotation: a new key is made and trusted beside the old one, so versions signed before stay verifiable.
 * With `revokeOldReason` the old key is revoked at once (a compromised key); without it the old key stays
 * trusted until someone revokes it or removes its public key from the policy.
 */
export async function rotateSigningKey(root: string, oldPrivatePem: string | undefined, options: { revokeOldReason?: string; now?: Date } = {}): Promise<RotationResult> {
  const old = oldPrivatePem ? importPrivateKey(oldPrivatePem, 'the current signing key') : undefined;
  const material = newKeyMaterial();
  const trusted = await trustPublicKey(root, material);
  let revokedOld: boolean | undefined;
  if (old && options.revokeOldReason !== undefined) revokedOld = (await revokeKey(root, old.keyId, options.revokeOldReason, options.now)).added;
  await appendAudit(root, { action: 'key-rotate', subject: material.keyId, details: { previous: old?.keyId, revokedPrevious: revokedOld ?? false } }).catch(() => undefined);
  return { material, trusted, oldKeyId: old?.keyId, revokedOld };
}
