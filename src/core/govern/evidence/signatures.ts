import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadPolicy } from '../../policy/load';
import { policyKeys, revokedKeys } from '../../policy/evaluate';
import { parseManifest } from '../../registry/manifest';
import { checkVersionSignature } from '../../registry/signature';
import type { ModelEvidence } from './models';

/**
 * Checks each signed version's OMS bundle against the policy's trusted keys (the registry's own check,
 * over the digests the manifest records: re-hashing artifacts is `sovereign registry verify`'s job).
 * Sets `signature.status` to valid / invalid / unchecked with the reason and the key that signed.
 */
export async function checkSignatures(root: string, models: ModelEvidence[]): Promise<void> {
  const signed = models.filter((m) => m.signature.present);
  if (!signed.length) return;
  let keys: Awaited<ReturnType<typeof policyKeys>>;
  let revoked: Map<string, string>;
  try {
    const { policy } = await loadPolicy(root);
    keys = await policyKeys(root, policy);
    revoked = revokedKeys(policy);
  } catch (err) {
    for (const m of signed) Object.assign(m.signature, { status: 'unchecked', reason: `the policy or its trusted keys cannot be read: ${(err as Error).message.split('\n')[0]}` });
    return;
  }
  for (const m of signed) {
    try {
      const text = await readFile(join(root, m.file), 'utf8');
      const parsed = parseManifest(text, m.file, { name: m.name, version: m.version });
      if (!parsed.manifest) {
        Object.assign(m.signature, { status: 'unchecked', reason: `the manifest is invalid: ${parsed.problems[0]?.message ?? 'unknown problem'}` });
        continue;
      }
      const s = await checkVersionSignature(root, parsed.manifest, m.file, keys, revoked);
      Object.assign(m.signature, { status: s.status === 'valid' ? 'valid' : 'invalid', verifiedKeyId: s.keyId, reason: s.reason });
    } catch (err) {
      Object.assign(m.signature, { status: 'unchecked', reason: (err as Error).message.split('\n')[0] });
    }
  }
}
