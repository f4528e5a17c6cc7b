import { severityRank, type Finding, type Severity } from '../findings';
import { MAX_FINDINGS_PER_RULE } from './limits';

/**
 * Collects findings with a cap per rule, so a hostile file with a million broken entries yields a readable
 * report (the first few, then "and N more") instead of a million lines. Generic: used by the ONNX and
 * safetensors readers.
 */
export class FindingCollector {
  private readonly kept: Finding[] = [];
  private readonly counts = new Map<string, { severity: Severity; count: number }>();

  constructor(
    /** Prefix for locations, e.g. the file path. */
    private readonly defaultLocation?: string,
    private readonly perRule = MAX_FINDINGS_PER_RULE,
  ) {}

  add(rule: string, severity: Severity, message: string, location?: string): void {
    const seen = this.counts.get(rule) ?? { severity, count: 0 };
    seen.count++;
    if (severityRank(severity) > severityRank(seen.severity)) seen.severity = severity;
    this.counts.set(rule, seen);
    if (seen.count <= this.perRule) this.kept.push({ rule, severity, message, location: location ?? this.defaultLocation });
  }

  has(rule: string): boolean {
    return this.counts.has(rule);
  }

  get size(): number {
    return this.kept.length;
  }

  /** The findings, plus one per rule that overflowed its cap. */
  toArray(): Finding[] {
    const out = [...this.kept];
    for (const [rule, { severity, count }] of this.counts) {
      if (count > this.perRule) {
        out.push({ rule, severity, message: `${count - this.perRule} more finding(s) of this rule not listed`, location: this.defaultLocation });
      }
    }
    return out;
  }
}

/** A name from an untrusted file, safe to print: clipped, quoted, control characters escaped. */
export function quote(text: string, max = 120): string {
  const clipped = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(clipped);
}
