import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelFormat } from '../formats/types';
import { compileRules, DEFAULT_ALLOWED_ENDPOINTS, type EndpointRule } from '../net/endpoints';
import { SovereignError, UsageError, ioError } from '../util/errors';
import schema from '../../../schemas/policy.schema.json';
import { POLICY_FILE } from '../workspace/workspace';
import { compileSchema, formatProblem, schemaProblems, YamlFile, type YamlProblem } from '../workspace/yaml-file';

export type ScanCeiling = 'none' | 'info' | 'low' | 'medium' | 'high' | 'critical';

export interface PolicyException {
  model: string;
  rule: string;
  justification: string;
  expires: string;
  approved_by?: string;
}

/** `.sovereign/policy.yaml` (schemas/policy.schema.json). */
export interface Policy {
  version: 1;
  formats?: { allowed?: ModelFormat[]; denied?: ModelFormat[] };
  licenses?: { allowed?: string[] };
  signature?: {
    required?: boolean;
    required_for_aliases?: string[];
    trusted_keys?: string[];
    revoked_keys?: { key_id: string; reason?: string; revoked_at?: string }[];
  };
  limits?: { max_file_size?: number | string; max_parameters?: number };
  required_fields?: string[];
  sources?: { allowed?: string[] };
  scan?: { max_severity?: ScanCeiling; yara_rules?: string[] };
  endpoints?: { allowed?: EndpointRule[] };
  exceptions?: PolicyException[];
  /** Thresholds of `sovereign drift` and of the runtime's drift metrics (docs/drift.md). */
  drift?: { psi?: number; ks_p_value?: number; chi2_p_value?: number; prediction_psi?: number; features?: Record<string, { psi?: number }> };
}

/** Formats that can run code when loaded: refused unless the policy says otherwise. */
export const CODE_EXECUTING_FORMATS: ModelFormat[] = ['pickle', 'pytorch-zip', 'joblib'];

/** The policy in force when a workspace has no policy.yaml (and outside any workspace). */
export const DEFAULT_POLICY: Policy = {
  version: 1,
  formats: { denied: CODE_EXECUTING_FORMATS },
  scan: { max_severity: 'medium' },
  endpoints: { allowed: [...DEFAULT_ALLOWED_ENDPOINTS] },
};

export interface LoadedPolicy {
  policy: Policy;
  /** Repository-relative path, e.g. .sovereign/policy.yaml. */
  file: string;
  /** false when the workspace has no policy file and DEFAULT_POLICY applies. */
  exists: boolean;
  /** Positions of values in the policy file (exceptions, keys), when it exists. */
  yaml?: YamlFile;
}

let validator: ReturnType<typeof compileSchema> | undefined;

/** Parses and validates policy text; problems carry file:line:col and a fix. */
export function parsePolicy(text: string, file: string): { policy?: Policy; yaml: YamlFile; problems: YamlProblem[] } {
  const { yaml, problems } = YamlFile.parse(text, file);
  if (problems.length) return { yaml, problems };
  const value = yaml.value();
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return { yaml, problems: [{ file, ...yaml.position(0), message: 'a policy must be a YAML mapping', fix: 'run `sovereign policy init` for a documented starting point', path: [] }] };
  }
  validator ??= compileSchema(schema);
  const found = validator(value) ? [] : schemaProblems(yaml, validator.errors);
  const policy = value as Policy;
  if (!found.length) {
    (policy.endpoints?.allowed ?? []).forEach((rule, i) => {
      try {
        compileRules([rule]);
      } catch (err) {
        found.push({ file, ...yaml.locate(['endpoints', 'allowed', i]), message: (err as SovereignError).message, fix: (err as SovereignError).hint ?? 'fix the rule', path: ['endpoints', 'allowed', i] });
      }
    });
    if (policy.limits?.max_file_size !== undefined && parseSize(policy.limits.max_file_size) === undefined) {
      found.push({ file, ...yaml.locate(['limits', 'max_file_size']), message: `"${policy.limits.max_file_size}" is not a size`, fix: 'write bytes or a size such as 8GiB or 500MB', path: ['limits', 'max_file_size'] });
    }
  }
  return found.length ? { yaml, problems: found } : { policy, yaml, problems: [] };
}

/** Loads the workspace policy (DEFAULT_POLICY when there is none). A malformed policy is a UsageError. */
export async function loadPolicy(workspaceRoot: string | undefined): Promise<LoadedPolicy> {
  if (!workspaceRoot) return { policy: DEFAULT_POLICY, file: POLICY_FILE, exists: false };
  let text: string;
  try {
    text = await readFile(join(workspaceRoot, POLICY_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { policy: DEFAULT_POLICY, file: POLICY_FILE, exists: false };
    throw ioError(err, POLICY_FILE);
  }
  const parsed = parsePolicy(text, POLICY_FILE);
  if (!parsed.policy) throw new PolicyFileError(parsed.problems);
  return { policy: parsed.policy, file: POLICY_FILE, exists: true, yaml: parsed.yaml };
}

/** A policy file given by path (`sovereign serve --policy FILE`: the policy a deployment image ships). */
export async function loadPolicyFile(path: string): Promise<LoadedPolicy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw ioError(err, path);
  }
  const parsed = parsePolicy(text, path);
  if (!parsed.policy) throw new PolicyFileError(parsed.problems);
  return { policy: parsed.policy, file: path, exists: true, yaml: parsed.yaml };
}

/** A malformed policy file: every problem as `file:line:col: what; how to fix`. Exit 2. */
export class PolicyFileError extends UsageError {
  constructor(readonly problems: YamlProblem[]) {
    super(`${problems.map(formatProblem).join('\n')}`, 'fix .sovereign/policy.yaml (the schema is schemas/policy.schema.json)');
  }
}

/** The endpoints completion and chat may send code to (loopback and private ranges by default). */
export function allowedEndpoints(policy: Policy | undefined): readonly EndpointRule[] {
  return policy?.endpoints?.allowed ?? DEFAULT_ALLOWED_ENDPOINTS;
}

const UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3, TIB: 1024 ** 4 };

/** Bytes from a number or a size such as "8GiB", "500 MB". */
export function parseSize(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$/i.exec(value);
  if (!m) return undefined;
  const unit = UNITS[(m[2] ?? 'B').toUpperCase()];
  return unit === undefined ? undefined : Math.floor(Number(m[1]) * unit);
}

/** The documented policy `sovereign policy init` writes. */
export function defaultPolicyText(): string {
  return `# Sovereign policy-as-code (schema: schemas/policy.schema.json).
# Checked by \`sovereign policy check\`, by \`sovereign registry add\` before a model is admitted, by
# \`sovereign registry alias\`, and before a model is loaded. Every violation points at a manifest line.
version: 1

# Formats that can run code when loaded (pickle and friends) are refused.
formats:
  denied: [pickle, pytorch-zip, joblib]
  # allowed: [gguf, onnx, safetensors]   # or accept only these

# Accepted licenses (SPDX ids, case-insensitive). Uncomment to enforce.
# licenses:
#   allowed: [apache-2.0, mit, bsd-3-clause, llama3.1, gemma]

# Signatures: versions behind these aliases must be signed by a trusted key.
signature:
  required_for_aliases: [production]
  # required: true                      # every version must be signed
  trusted_keys: []                       # e.g. [keys/release.pub.pem, keys/]  (files or folders)
  revoked_keys: []                       # e.g. [{key_id: <64 hex>, reason: "laptop lost", revoked_at: 2025-01-31}]

# limits:
#   max_file_size: 16GiB
#   max_parameters: 70000000000

# Manifest fields every version must fill in.
required_fields: [license, source]

# Where models may come from (glob patterns over source.uri).
# sources:
#   allowed: ["https://huggingface.co/my-org/*", "file:*"]

# Worst scan finding accepted (high and critical always refuse registration).
scan:
  max_severity: medium
  # YARA rule files or folders in this repository, run with the default pack (docs/scan-rules.md).
  # yara_rules: [rules/]

# Where code completion and chat may send code: loopback and private networks.
# Link-local 169.254.0.0/16 (cloud metadata) is deliberately absent.
endpoints:
  allowed: [127.0.0.0/8, "::1/128", localhost, "*.localhost", 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, "fc00::/7"]

# Drift thresholds of \`sovereign drift\` and the serving runtime (docs/drift.md).
# drift:
#   psi: 0.2                            # a feature drifted past this PSI
#   features: { amount: { psi: 0.3 } }  # per feature
#   ks_p_value: 0.001                   # optional p-value rules (KS numeric, chi-square categorical)

# Waivers: each needs a justification and an expiry date; when it expires the violation is back.
exceptions: []
#  - model: legacy-classifier          # NAME or NAME@VERSION
#    rule: format
#    justification: "pickle kept until the ONNX export is validated (ticket ML-123)"
#    expires: 2025-12-31
#    approved_by: security@example.com
`;
}
