/** Scanner findings: the one vocabulary shared by the scanner, the CLI (text/JSON/SARIF) and the extension. */

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** True for the severities that make `sovereign scan` exit 1. */
export function isBlocking(s: Severity): boolean {
  return severityRank(s) >= severityRank('high');
}

export interface Finding {
  /** Stable rule id, e.g. `pickle/dangerous-global`, `gguf/tensor-out-of-bounds`. */
  rule: string;
  severity: Severity;
  message: string;
  /** Where in the file: byte offset, member name, tensor name, key... free text for people. */
  location?: string;
  /** What the rule looks for and why, for SARIF rule help (rules from a rule pack carry their own). */
  help?: string;
  /** A page that explains the rule (SARIF helpUri). */
  helpUri?: string;
}

export function worstSeverity(findings: readonly Finding[]): Severity | undefined {
  let worst: Severity | undefined;
  for (const f of findings) if (worst === undefined || severityRank(f.severity) > severityRank(worst)) worst = f.severity;
  return worst;
}
