import type { Severity } from '../formats/findings';
import type { ModelFormat } from '../formats/types';
import type { ModelManifest } from '../registry/manifest';
import { parseSize, type Policy, type ScanCeiling } from './load';

/** Rule ids, as violations name them and exceptions waive them. */
export const POLICY_RULES = [
  'format',
  'license',
  'signature-required',
  'signature-revoked',
  'max-file-size',
  'max-parameters',
  'required-field',
  'source',
  'scan-severity',
  'manifest-invalid',
] as const;
export type PolicyRule = (typeof POLICY_RULES)[number];

/** Rules an exception can never waive: a broken manifest or a revoked key is not a matter of judgement. */
export const UNWAIVABLE: ReadonlySet<PolicyRule> = new Set(['manifest-invalid', 'signature-revoked']);

/** A violation before it is placed in a file: the JSON path of the value it is about. */
export interface RawViolation {
  rule: PolicyRule;
  message: string;
  fix: string;
  /** Path of the offending value in the manifest; `key` names a missing or offending key under it. */
  path: (string | number)[];
  key?: string;
}

const SEVERITY_RANK: Record<ScanCeiling, number> = { none: -1, info: 0, low: 1, medium: 2, high: 3, critical: 4 };

export function exceedsCeiling(worst: Severity | 'none' | undefined, ceiling: ScanCeiling | undefined): boolean {
  if (!worst || worst === 'none' || !ceiling) return false;
  return SEVERITY_RANK[worst] > SEVERITY_RANK[ceiling];
}

export function formatAllowed(policy: Policy, format: ModelFormat | undefined): { ok: boolean; why?: string } {
  if (!format) return { ok: true };
  if (policy.formats?.denied?.includes(format)) return { ok: false, why: `${format} files are denied by the policy` };
  if (policy.formats?.allowed && !policy.formats.allowed.includes(format)) {
    return { ok: false, why: `${format} is not among the allowed formats (${policy.formats.allowed.join(', ')})` };
  }
  return { ok: true };
}

/** Glob over a URI: `*` matches any run of characters, everything else literally. */
export function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp('^' + pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', 'i');
  return re.test(value);
}

/** Every manifest-level rule (signatures are checked separately: they need files and keys). */
export function manifestViolations(policy: Policy, m: ModelManifest): RawViolation[] {
  const out: RawViolation[] = [];
  const policyFix = 'or add a time-limited exception in .sovereign/policy.yaml';

  m.artifacts.forEach((a, i) => {
    const verdict = formatAllowed(policy, a.format);
    if (!verdict.ok) {
      out.push({ rule: 'format', message: `${a.path}: ${verdict.why}`, fix: `convert the model to an allowed format (e.g. safetensors, gguf, onnx) ${policyFix}`, path: ['artifacts', i, 'format'] });
    }
  });
  if (m.format && !m.artifacts.some((a) => a.format === m.format)) {
    const verdict = formatAllowed(policy, m.format);
    if (!verdict.ok) out.push({ rule: 'format', message: verdict.why!, fix: `convert the model to an allowed format ${policyFix}`, path: ['format'] });
  }

  const allowedLicenses = policy.licenses?.allowed;
  if (allowedLicenses) {
    if (!m.license) {
      out.push({ rule: 'license', message: 'no license, and the policy accepts only listed licenses', fix: `add license: with one of ${allowedLicenses.join(', ')}`, path: [], key: 'name' });
    } else if (!allowedLicenses.some((l) => l.toLowerCase() === m.license!.toLowerCase())) {
      out.push({ rule: 'license', message: `license "${m.license}" is not on the allowlist (${allowedLicenses.join(', ')})`, fix: `use a model under an allowed license ${policyFix}`, path: ['license'] });
    }
  }

  const maxSize = policy.limits?.max_file_size === undefined ? undefined : parseSize(policy.limits.max_file_size);
  if (maxSize !== undefined) {
    m.artifacts.forEach((a, i) => {
      if (a.size > maxSize) out.push({ rule: 'max-file-size', message: `${a.path} is ${a.size} bytes, above the limit of ${policy.limits!.max_file_size}`, fix: `use a smaller (e.g. quantized) model ${policyFix}`, path: ['artifacts', i, 'size'] });
    });
  }
  const maxParams = policy.limits?.max_parameters;
  if (maxParams !== undefined && m.parameter_count !== undefined && m.parameter_count > maxParams) {
    out.push({ rule: 'max-parameters', message: `${m.parameter_count} parameters, above the limit of ${maxParams}`, fix: `use a smaller model ${policyFix}`, path: ['parameter_count'] });
  }

  for (const field of policy.required_fields ?? []) {
    const v = (m as unknown as Record<string, unknown>)[field];
    const empty = v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length) || (typeof v === 'object' && v !== null && !Array.isArray(v) && !Object.keys(v).length);
    if (empty) out.push({ rule: 'required-field', message: `required field "${field}" is missing`, fix: `add ${field}: to the manifest`, path: [], key: 'name' });
  }

  const sources = policy.sources?.allowed;
  if (sources) {
    const uri = m.source?.uri;
    if (!uri) out.push({ rule: 'source', message: 'no source.uri, and the policy accepts only listed sources', fix: `add source: {uri: ...} matching one of ${sources.join(', ')}`, path: [], key: 'name' });
    else if (!sources.some((p) => globMatch(p, uri))) out.push({ rule: 'source', message: `source "${uri}" is not an allowed source (${sources.join(', ')})`, fix: `get the model from an allowed source ${policyFix}`, path: ['source', 'uri'] });
  }

  const ceiling = policy.scan?.max_severity;
  if (m.scan?.verdict === 'fail') {
    out.push({ rule: 'scan-severity', message: `the scan failed (worst finding: ${m.scan.worst ?? 'unknown'})`, fix: 'register a clean file; run `sovereign scan` to see the findings', path: ['scan', 'verdict'] });
  } else if (exceedsCeiling(m.scan?.worst, ceiling)) {
    out.push({ rule: 'scan-severity', message: `worst scan finding is ${m.scan!.worst}, above the policy ceiling ${ceiling}`, fix: `fix the findings (\`sovereign scan\`) ${policyFix}`, path: ['scan', 'worst'] });
  }
  return out;
}

