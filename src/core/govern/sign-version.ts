import { createPublicKey, type KeyObject } from 'node:crypto';
import { keyIdOf } from '../signing/keys';
import { serializeManifest } from '../registry/manifest';
import { loadRegistry } from '../registry/read';
import { signVersion } from '../registry/signature';
import { withRegistryLock } from '../registry/lock';
import { RegistryTransaction } from '../registry/transaction';
import { AUDIT_FILE, signatureRelPath } from '../workspace/workspace';
import { workspaceTrustedKeys } from './trusted-keys';

export interface SignVersionResult {
  ref: string;
  signatureFile: string;
  keyId: string;
  commit: string;
}

/**
 * Signs an already registered version (the "sign now" quick fix, `Sovereign: Sign Model` on a version):
 * records the signature reference in the manifest, signs artifacts + manifest (OMS bundle), appends the
 * audit entry, and commits exactly those files; any failure restores them.
 */
export async function signRegisteredVersion(root: string, ref: string, privateKey: KeyObject, now = new Date()): Promise<SignVersionResult> {
  return withRegistryLock(root, () => signLocked(root, ref, privateKey, now), { command: `registry sign ${ref}` });
}

async function signLocked(root: string, ref: string, privateKey: KeyObject, now: Date): Promise<SignVersionResult> {
  const registry = await loadRegistry(root);
  const entry = registry.resolve(ref);
  const m = structuredClone(entry.manifest);
  const signatureFile = signatureRelPath(m.name, m.version);
  const keyId = keyIdOf(createPublicKey(privateKey));
  m.signature = { path: signatureFile, key_id: keyId, signed_at: now.toISOString() };
  const tx = new RegistryTransaction(root, { key: privateKey, trustedKeys: () => workspaceTrustedKeys(root) });
  await tx.snapshot(AUDIT_FILE);
  try {
    const text = serializeManifest(m);
    await tx.write(entry.file, text);
    await tx.write(signatureFile, JSON.stringify(signVersion(m, entry.file, text, privateKey), null, 2) + '\n');
    const primary = m.artifacts.reduce((a, b) => (b.size > a.size ? b : a));
    await tx.audit({ action: 'sign', subject: `${m.name}@${m.version}`, details: { digest: `sha256:${primary.sha256}`, keyId } });
  } catch (err) {
    await tx.rollback();
    throw err;
  }
  const commit = await tx.commit(`registry: sign ${m.name}@${m.version} (key ${keyId.slice(0, 12)})`);
  return { ref: `${m.name}@${m.version}`, signatureFile, keyId, commit };
}
