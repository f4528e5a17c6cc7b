/**
 * Which registered versions a person may chat with: GGUF versions the workspace policy admits. A version
 * the policy refuses (an `error` violation not waived) is listed with the reason and is never started;
 * `sovereign serve` would refuse it too (the engine gate), this says so before anyone tries.
 */
import type { PolicyViolation } from '../policy/evaluate';

export interface ChatCandidate {
  /** NAME@VERSION */
  ref: string;
  name: string;
  version: string;
  /** Repository-relative manifest (`sovereign serve --model` takes it). */
  manifest: string;
  aliases: string[];
  admitted: boolean;
  /** Why it is refused (the first policy errors), when it is. */
  reason?: string;
}

export interface CandidateSource {
  versions: readonly { name: string; version: string; file: string; aliases: readonly string[]; format?: string }[];
  violations: readonly PolicyViolation[];
  policyError?: string;
}

export function chatCandidates(source: CandidateSource): ChatCandidate[] {
  return source.versions
    .filter((v) => v.format === 'gguf')
    .map((v) => {
      const errors = source.violations.filter((x) => x.severity === 'error' && x.model === v.name && (x.version === undefined || x.version === v.version));
      const reason = source.policyError
        ? `the policy does not parse: ${source.policyError}`
        : errors.length
          ? `refused by the policy: ${errors.slice(0, 2).map((e) => `${e.rule}: ${e.message}`).join('; ')}${errors.length > 2 ? ` (+${errors.length - 2} more)` : ''}`
          : undefined;
      return { ref: `${v.name}@${v.version}`, name: v.name, version: v.version, manifest: v.file, aliases: [...v.aliases], admitted: reason === undefined, ...(reason ? { reason } : {}) };
    })
    .sort((a, b) => a.ref.localeCompare(b.ref));
}
