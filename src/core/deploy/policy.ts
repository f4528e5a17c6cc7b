import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { appendAudit } from '../audit/log';
import { applyExceptions, policyKeys, revokedKeys, signatureViolations } from '../policy/evaluate';
import { DEFAULT_POLICY, parsePolicy, PolicyFileError, type Policy } from '../policy/load';
import { exceedsCeiling, manifestViolations, type RawViolation } from '../policy/rules';
import { loadRegistry, type RegistryEntry } from '../registry/read';
import { checkVersionSignature } from '../registry/signature';
import { POLICY_FILE } from '../workspace/workspace';
import { worstSeverity, type Finding } from '../formats/findings';
import { ioError, RefusedError } from '../util/errors';

/**
 * The workspace policy at deployment time. Every deployment (staging, canary, the Kubernetes export, and
 * the versions promote and rollback put in front of traffic) is checked against `.sovereign/policy.yaml`
 * the way `sovereign registry add` admits a version (license, source, required fields, formats, limits,
 * signatures, scan ceiling, exceptions), BEFORE any image is built or container started. The exact bytes
 * that were checked are then shipped into the container, whose `sovereign serve --policy FILE` gates the
 * model with them again before the native load.
 */

/** Where the policy sits in the deployment image; the runtime is started with `--policy` pointing at it. */
export const POLICY_PATH_IN_CONTAINER = '/policy/policy.yaml';
/** Where the version's drift baseline sits beside it, when it has one (`sovereign serve --drift-baseline`). */
export const DRIFT_BASELINE_PATH_IN_CONTAINER = '/policy/drift-baseline.json';
/** Where a language model's baseline prompt set sits beside it, when it has one (`sovereign serve --drift-baseline-prompts`). */
export const DRIFT_PROMPTS_PATH_IN_CONTAINER = '/policy/drift-prompts.txt';

/** The policy a deployment was checked against and ships. */
export interface ShippedPolicy {
  /** The bytes checked and shipped (the default policy written out when the workspace has none). */
  text: string;
  sha256: string;
  /** false: the workspace has no policy.yaml, the default policy applied and is what ships. */
  exists: boolean;
  /** Repository-relative path of the workspace policy. */
  file: string;
}

/** What the deployment step is, for messages and the audit trail of exception use. */
export type DeployUse = 'deploy' | 'canary' | 'export-k8s' | 'promote' | 'rollback';

const DEFAULT_POLICY_TEXT = `# The default policy: the workspace had no .sovereign/policy.yaml when this deployment was made.\n${stringify(DEFAULT_POLICY)}`;

/** Reads and parses the workspace policy once: the same bytes are checked and shipped. */
export async function readWorkspacePolicy(root: string): Promise<{ policy: Policy; shipped: ShippedPolicy }> {
  let text: string;
  let exists = true;
  try {
    text = await readFile(join(root, POLICY_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(err, POLICY_FILE);
    text = DEFAULT_POLICY_TEXT;
    exists = false;
  }
  const parsed = parsePolicy(text, POLICY_FILE);
  if (!parsed.policy) throw new PolicyFileError(parsed.problems);
  return { policy: parsed.policy, shipped: { text, sha256: createHash('sha256').update(text).digest('hex'), exists, file: POLICY_FILE } };
}

/**
 * Applies the workspace policy to one registered version about to be deployed; throws RefusedError (exit 1)
 * with every standing violation and its fix. `findings`: the format reader's findings on the store object
 * just now (the scan ceiling is applied to them as well as to what the manifest recorded).
 */
export async function checkDeployPolicy(
  root: string,
  entry: RegistryEntry,
  o: { use: DeployUse; findings?: readonly Finding[]; now?: Date },
): Promise<ShippedPolicy> {
  const { policy, shipped } = await readWorkspacePolicy(root);
  const m = entry.manifest;
  const raw: RawViolation[] = manifestViolations(policy, m);
  const worst = o.findings ? worstSeverity(o.findings) : undefined;
  const ceiling = policy.scan?.max_severity;
  if (worst && exceedsCeiling(worst, ceiling) && !raw.some((v) => v.rule === 'scan-severity')) {
    raw.push({ rule: 'scan-severity', message: `the model file's worst finding is ${worst} now, above the policy ceiling ${ceiling}`, fix: 'run `sovereign scan` on it and deploy a clean version, or add a time-limited exception', path: [] });
  }
  const guarded = entry.aliases.filter((a) => policy.signature?.required_for_aliases?.includes(a));
  const requiredBecause = policy.signature?.required
    ? 'the policy requires every version to be signed'
    : guarded.length
      ? `alias ${guarded.join(', ')} requires a trusted signature`
      : undefined;
  if (m.signature || requiredBecause) {
    const keys = await policyKeys(root, policy);
    const status = await checkVersionSignature(root, m, entry.file, keys, revokedKeys(policy));
    raw.push(...signatureViolations(status, requiredBecause));
  }
  const now = o.now ?? new Date();
  const { standing, waived } = applyExceptions(policy, raw, m.name, m.version, now);
  if (standing.length) {
    throw new RefusedError(
      `${o.use} of ${m.name}@${m.version} refused by the workspace policy (${shipped.exists ? POLICY_FILE : 'the default policy'}):\n${standing.map((v) => `  [${v.rule}] ${v.message}; ${v.fix}`).join('\n')}`,
      `nothing was built or started; \`sovereign policy check\` lists the violations (${entry.file}); deploy a compliant version, or add a justified, time-limited exception to ${POLICY_FILE}`,
    );
  }
  for (const w of waived) {
    await appendAudit(root, {
      action: 'policy-exception',
      subject: `${m.name}@${m.version}`,
      details: { rule: w.raw.rule, reason: w.exception.justification, expires: w.exception.expires, approver: w.exception.approved_by, use: o.use },
    });
  }
  return shipped;
}

/**
 * The policy check for a version that is already deployed and about to take traffic (promote, rollback):
 * the workspace policy may have changed since it was deployed (a revoked key, a licence taken off the list).
 */
export async function checkDeployedVersion(root: string, model: string, version: string, use: DeployUse): Promise<ShippedPolicy> {
  const registry = await loadRegistry(root);
  let entry: RegistryEntry;
  try {
    entry = registry.resolve(`${model}@${version}`);
  } catch {
    throw new RefusedError(`${use} of ${model}@${version} refused: the version is no longer in the registry, so the workspace policy cannot vouch for it`, `register it again (\`sovereign registry add\`), or deploy a registered version with \`sovereign deploy staging ${model}@VERSION\``);
  }
  return checkDeployPolicy(root, entry, { use });
}
