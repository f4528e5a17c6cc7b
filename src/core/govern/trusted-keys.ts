import { policyKeys } from '../policy/evaluate';
import { loadPolicy } from '../policy/load';
import type { TrustedKey } from '../signing/keys';

/**
 * The keys a workspace trusts: the policy's `signature.trusted_keys` less its revoked ones. The audit log and
 * the registry transaction take them as a parameter (they stand below the policy), and this is where the
 * use cases look them up.
 */
export async function workspaceTrustedKeys(root: string): Promise<TrustedKey[]> {
  const { policy } = await loadPolicy(root);
  const revoked = new Set((policy.signature?.revoked_keys ?? []).map((r) => r.key_id));
  return (await policyKeys(root, policy)).filter((k) => !revoked.has(k.keyId));
}
