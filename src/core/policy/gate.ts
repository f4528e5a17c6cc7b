import { appendAudit } from '../audit/log';
import type { ModelFormat } from '../formats/types';
import { scanFile } from '../scan/scanner';
import { worstSeverity, type Finding } from '../formats/findings';
import { loadRegistry, type RegistryEntry } from '../registry/read';
import { checkVersionSignature } from '../registry/signature';
import { applyExceptions, policyKeys, revokedKeys, signatureViolations, type PolicyViolation, type WaivedViolation } from './evaluate';
import { loadPolicy, parseSize, type LoadedPolicy } from './load';
import { policyRuleFiles } from './scan-rules';
import { exceedsCeiling, formatAllowed, manifestViolations, type RawViolation } from './rules';

/** What a loader already knows about the file (saves a re-scan). */
export interface ModelFileFacts {
  sha256?: string;
  format?: ModelFormat;
  size?: number;
  parameterCount?: number;
  findings?: readonly Finding[];
}

export interface PolicyDecision {
  allowed: boolean;
  /** Standing violations; each message names its rule. */
  violations: PolicyViolation[];
  waived: WaivedViolation[];
  /** The registry version this file belongs to, when it is registered. */
  model?: { name: string; version: string; aliases: string[] };
  sha256?: string;
}

/**
 * The gate every loader calls before a model is loaded: file-level rules (format, size, parameters, scan
 * ceiling) always; manifest rules (license, source, required fields, signatures) when the file is a
 * registered artifact. Outside a workspace the default policy applies. Exception use is audited.
 */
export async function checkModelFile(
  workspaceRoot: string | undefined,
  filePath: string,
  facts: ModelFileFacts = {},
  loaded?: LoadedPolicy,
  subject?: { name: string; version?: string },
): Promise<PolicyDecision> {
  // `loaded`: a policy given explicitly (`serve --policy FILE`) instead of the workspace's; `subject`: the
  // registry version the file is, when no registry is at hand (a deployment), for the policy's exceptions.

  const { policy, file: policyFile } = loaded ?? (await loadPolicy(workspaceRoot));
  let f = facts;
  if (!f.sha256 || !f.format || f.size === undefined || !f.findings) {
    const report = await scanFile(filePath, { extraRules: workspaceRoot && !loaded ? await policyRuleFiles(workspaceRoot, policy) : [] });
    f = { sha256: report.sha256, format: report.format, size: report.size, findings: report.findings, parameterCount: facts.parameterCount ?? numberFact(report.facts) };
  }
  const raw: RawViolation[] = [];
  const verdict = formatAllowed(policy, f.format);
  if (!verdict.ok) raw.push({ rule: 'format', message: `${filePath}: ${verdict.why}`, fix: 'convert the model to an allowed format', path: [] });
  const maxSize = policy.limits?.max_file_size === undefined ? undefined : parseSize(policy.limits.max_file_size);
  if (maxSize !== undefined && f.size !== undefined && f.size > maxSize) {
    raw.push({ rule: 'max-file-size', message: `${filePath} is ${f.size} bytes, above the limit of ${policy.limits!.max_file_size}`, fix: 'use a smaller model', path: [] });
  }
  if (policy.limits?.max_parameters !== undefined && f.parameterCount !== undefined && f.parameterCount > policy.limits.max_parameters) {
    raw.push({ rule: 'max-parameters', message: `${f.parameterCount} parameters, above the limit of ${policy.limits.max_parameters}`, fix: 'use a smaller model', path: [] });
  }
  const worst = worstSeverity(f.findings ?? []);
  if (exceedsCeiling(worst, policy.scan?.max_severity) || worst === 'high' || worst === 'critical') {
    raw.push({ rule: 'scan-severity', message: `${filePath}: worst scan finding is ${worst}, above the policy ceiling ${policy.scan?.max_severity ?? 'medium'}`, fix: 'run `sovereign scan` on the file and fix the findings', path: [] });
  }

  let entry: RegistryEntry | undefined;
  if (workspaceRoot) {
    const registry = await loadRegistry(workspaceRoot);
    entry = registry.entries.find((e) => e.manifest.artifacts.some((a) => a.sha256 === f.sha256));
    if (entry) {
      // File-level facts were measured just now; the manifest adds license, source, fields, signatures.
      raw.push(...manifestViolations(policy, entry.manifest).filter((v) => !['format', 'max-file-size', 'max-parameters', 'scan-severity'].includes(v.rule)));
      const aliasGuard = entry.aliases.filter((a) => policy.signature?.required_for_aliases?.includes(a));
      const requiredBecause = policy.signature?.required
        ? 'the policy requires every version to be signed'
        : aliasGuard.length
          ? `alias ${aliasGuard.join(', ')} requires a trusted signature`
          : undefined;
      if (entry.manifest.signature || requiredBecause) {
        const keys = await policyKeys(workspaceRoot, policy);
        const status = await checkVersionSignature(workspaceRoot, entry.manifest, entry.file, keys, revokedKeys(policy));
        raw.push(...signatureViolations(status, requiredBecause));
      }
    }
  }
  const name = entry?.manifest.name ?? subject?.name ?? '';
  const version = entry?.manifest.version ?? subject?.version;
  const { standing, waived } = applyExceptions(policy, raw, name, version, new Date());
  const at = entry ? entry.file : policyFile;
  const toViolation = (v: RawViolation): PolicyViolation => ({
    rule: v.rule,
    severity: 'error',
    message: `policy rule ${v.rule}: ${v.message}`,
    fix: v.fix,
    file: at,
    line: 1,
    model: entry?.manifest.name,
    version,
  });
  const decision: PolicyDecision = {
    allowed: standing.length === 0,
    violations: standing.map(toViolation),
    waived: waived.map((w) => ({ violation: toViolation(w.raw), exception: w.exception })),
    model: entry ? { name, version: version!, aliases: entry.aliases } : undefined,
    sha256: f.sha256,
  };
  if (workspaceRoot && waived.length) {
    for (const w of waived) {
      await appendAudit(workspaceRoot, {
        action: 'policy-exception',
        subject: `${name}@${version}`,
        details: { rule: w.raw.rule, reason: w.exception.justification, expires: w.exception.expires, approver: w.exception.approved_by, use: 'load' },
      });
    }
  }
  return decision;
}

/** A parameter count from format facts, when the analyzer reported one. */
export function numberFact(facts: Record<string, unknown> | undefined): number | undefined {
  const summary = (facts?.summary ?? {}) as Record<string, unknown>;
  for (const v of [facts?.parameterCount, facts?.parameters, summary.parameterCount, summary.parameters, summary.params]) {
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return undefined;
}
