import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DEFAULT_ALLOWED_ENDPOINTS } from '../../net/endpoints';

export interface PolicyEvidence {
  file: string;
  /** false: no policy file, the built-in defaults apply. */
  present: boolean;
  sha256?: string;
  /** The policy as parsed (absent when unreadable or missing). */
  policy?: Record<string, unknown>;
  problems: string[];
  endpointsAllowed: string[];
  exceptions: Array<{ model: string; rule: string; justification: string; expires: string; approvedBy?: string; expired: boolean }>;
}

const POLICY_FILE = '.sovereign/policy.yaml';

/** The policy file, its digest, its allowed endpoints and its exceptions (expired ones marked). */
export async function collectPolicy(root: string, now: Date = new Date()): Promise<PolicyEvidence> {
  const evidence: PolicyEvidence = { file: POLICY_FILE, present: false, problems: [], endpointsAllowed: [...DEFAULT_ALLOWED_ENDPOINTS], exceptions: [] };
  let bytes: Buffer;
  try {
    bytes = await readFile(join(root, POLICY_FILE));
  } catch {
    return evidence;
  }
  evidence.present = true;
  evidence.sha256 = createHash('sha256').update(bytes).digest('hex');
  let value: unknown;
  try {
    value = parse(bytes.toString('utf8'));
  } catch (err) {
    evidence.problems.push(`unreadable policy: ${(err as Error).message.split('\n')[0]}`);
    return evidence;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    evidence.problems.push('the policy is not a YAML mapping');
    return evidence;
  }
  const policy = value as Record<string, unknown>;
  evidence.policy = policy;
  const allowed = (policy.endpoints as { allowed?: unknown } | undefined)?.allowed;
  if (Array.isArray(allowed)) evidence.endpointsAllowed = allowed.map(String);
  const today = now.toISOString().slice(0, 10);
  if (Array.isArray(policy.exceptions)) {
    for (const e of policy.exceptions as Array<Record<string, unknown>>) {
      const expires = String(e?.expires ?? '');
      evidence.exceptions.push({
        model: String(e?.model ?? ''),
        rule: String(e?.rule ?? ''),
        justification: String(e?.justification ?? ''),
        expires,
        approvedBy: typeof e?.approved_by === 'string' ? e.approved_by : undefined,
        expired: expires !== '' && expires < today,
      });
    }
  }
  return evidence;
}
