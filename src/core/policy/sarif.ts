import type * as Sarif from 'sarif';
import { artifactLocation, docsUrl, fingerprint, originalUriBaseIds, PROJECT_URL } from '../scan/sarif';
import type { PolicyReport, PolicyViolation } from './evaluate';
import type { PolicyRule } from './rules';

/** What each policy rule checks, for the SARIF rule's description and help. */
const RULE_HELP: Record<PolicyRule, string> = {
  format: 'The artifact format must be allowed by formats.allowed / formats.denied in .sovereign/policy.yaml.',
  license: 'The version\'s licence must be on licenses.allowed in .sovereign/policy.yaml.',
  'signature-required': 'The version (or the alias pointing at it) must carry a valid signature by a key listed under signature.trusted_keys.',
  'signature-revoked': 'The version is signed by a key listed under signature.revoked_keys; no exception can waive it.',
  'max-file-size': 'No artifact may be larger than limits.max_file_size.',
  'max-parameters': 'The model may not have more parameters than limits.max_parameters.',
  'required-field': 'The manifest must fill every field listed under required_fields.',
  source: 'The version\'s source URI must match one of sources.allowed.',
  'scan-severity': 'The scan recorded at registration may not exceed the policy\'s scan ceiling.',
  'manifest-invalid': 'The manifest must be valid against the manifest schema; no exception can waive it.',
};

function rule(id: string, level: 'error' | 'warning'): Sarif.ReportingDescriptor {
  const about = RULE_HELP[id as PolicyRule] ?? `Policy rule ${id} of .sovereign/policy.yaml.`;
  const helpUri = docsUrl('policy.md');
  const fix = 'Fix the manifest (the message says how), or add a time-limited exception with a justification under exceptions in .sovereign/policy.yaml (`sovereign policy` / "Sovereign: Request Exception...").';
  return {
    id,
    name: id.replace(/(^|-)(.)/g, (_m, _d: string, c: string) => c.toUpperCase()),
    shortDescription: { text: `policy rule ${id}` },
    fullDescription: { text: about },
    help: {
      text: `${id}: ${about}\nWhat to do: ${fix}\nDetails: ${helpUri}`,
      markdown: `**${id}**: ${about}\n\n**What to do:** ${fix}\n\n[Policy documentation](${helpUri})`,
    },
    helpUri,
    defaultConfiguration: { level },
    properties: { tags: ['policy', 'governance'] },
  };
}

function result(v: PolicyViolation, baseDir: string, ruleIndex: number): Sarif.Result {
  const location = artifactLocation(v.file, baseDir, baseDir);
  return {
    ruleId: v.rule,
    ruleIndex,
    level: v.severity === 'error' ? 'error' : 'warning',
    message: { text: `${v.message}; ${v.fix}` },
    locations: [{ physicalLocation: { artifactLocation: location, region: { startLine: Math.max(1, v.line), startColumn: Math.max(1, v.column ?? 1) } } }],
    partialFingerprints: { 'sovereignPolicy/v1': fingerprint(v.rule, location.uri, v.model, v.version, v.message) },
    properties: { model: v.model, version: v.version },
  };
}

/**
 * SARIF 2.1.0 for `policy check --format sarif`: one result per violation at its manifest line (paths
 * relative to the repository root under %SRCROOT%); violations an exception waives are reported with an
 * external suppression carrying the justification.
 */
export function policySarif(report: PolicyReport, options: { toolVersion: string; baseDir: string; category?: string }): Sarif.Log {
  const all = [...report.violations, ...report.waived.map((w) => w.violation)];
  const levels = new Map<string, 'error' | 'warning'>();
  for (const v of all) if (levels.get(v.rule) !== 'error') levels.set(v.rule, v.severity === 'error' ? 'error' : 'warning');
  const rules = [...levels.keys()].sort();
  const index = new Map(rules.map((id, i) => [id, i]));
  const results = [
    ...report.violations.map((v) => result(v, options.baseDir, index.get(v.rule)!)),
    ...report.waived.map((w) => ({
      ...result(w.violation, options.baseDir, index.get(w.violation.rule)!),
      suppressions: [{ kind: 'external' as const, status: 'accepted' as const, justification: `${w.exception.justification} (exception until ${w.exception.expires})` }],
    })),
  ];
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'sovereign-policy',
            semanticVersion: options.toolVersion,
            informationUri: PROJECT_URL,
            rules: rules.map((id) => rule(id, levels.get(id)!)),
          },
        },
        automationDetails: { id: options.category ?? 'sovereign-policy/' },
        originalUriBaseIds: originalUriBaseIds(options.baseDir),
        results,
      },
    ],
  };
}
