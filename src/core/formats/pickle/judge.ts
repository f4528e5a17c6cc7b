import type { Finding } from '../findings';
import { JOBLIB_WRAPPERS } from './joblib';
import { classifyGlobal } from './policy';
import type { WalkResult } from './walker';

/** DUP/GET counts beyond these look like a reference-expansion ("billion laughs") payload. */
const EXPANSION_HIGH = 5_000_000;
const EXPANSION_MEDIUM = 100_000;

export interface PickleJudgement {
  findings: Finding[];
  facts: Record<string, unknown>;
  /** True when the stream uses joblib's array wrappers (joblib.dump output). */
  joblib: boolean;
}

/**
 * Turns what the walker saw into findings (allowlist first: a global outside it is suspect, a known gadget
 * is critical) and into facts for `inspect`.
 */
export function judgeWalk(walk: WalkResult, path: string): PickleJudgement {
  const at = (offset: number) => `${path} @ offset ${offset}`;
  const findings: Finding[] = [];
  for (const e of walk.events) findings.push({ rule: e.rule, severity: e.severity, message: e.message, location: at(e.offset) });

  for (const g of walk.globals) {
    const called = g.calls > 0 ? ` and calls it (${g.callOp} at offset ${g.callOffset}${g.calls > 1 ? `, ${g.calls} calls` : ''})` : '';
    if (!g.resolved) {
      if (g.calls > 0) findings.push({ rule: 'pickle/unresolved-call', severity: 'critical', message: `the pickle calls an import it computes at load time (${g.path})${called}`, location: at(g.callOffset ?? g.offset) });
      continue;
    }
    const cls = classifyGlobal(g.path);
    if (cls === 'dangerous') {
      findings.push({ rule: 'pickle/dangerous-global', severity: 'critical', message: `imports ${g.path}, a known code-execution or evasion gadget${called}`, location: at(g.offset) });
    } else if (cls === 'unknown') {
      if (g.calls > 0) findings.push({ rule: 'pickle/unsafe-call', severity: 'high', message: `imports ${g.path}, which is not on the model-weights allowlist${called}: loading runs its code`, location: at(g.offset) });
      else findings.push({ rule: 'pickle/unknown-global', severity: 'medium', message: `imports ${g.path}, which is not on the model-weights allowlist (referenced, not called)`, location: at(g.offset) });
    }
  }

  const refs = walk.gets + walk.dups;
  if (refs > EXPANSION_HIGH) {
    findings.push({ rule: 'pickle/expansion', severity: 'high', message: `${refs.toLocaleString('en-US')} DUP/GET references: a reference-expansion payload can exhaust memory when loaded or used`, location: path });
  } else if (refs > EXPANSION_MEDIUM && refs > walk.opcodes / 2) {
    findings.push({ rule: 'pickle/expansion', severity: 'medium', message: `${refs.toLocaleString('en-US')} of ${walk.opcodes.toLocaleString('en-US')} opcodes are DUP/GET references: possible reference-expansion payload`, location: path });
  }

  const globals = walk.globals.filter((g) => g.resolved).map((g) => g.path);
  const joblib = walk.joblibArrays > 0 || globals.some((g) => JOBLIB_WRAPPERS.has(g));
  const protocols = [...new Set(walk.protocols)].sort((a, b) => a - b);
  const facts: Record<string, unknown> = {
    summary: {
      protocol: protocols.join(', ') || 'none',
      pickles: walk.pickles,
      opcodes: walk.opcodes,
      globals: globals.length,
      calls: walk.calls,
      ...(walk.torchStorages > 0 ? { torchStorages: walk.torchStorages } : {}),
      ...(joblib ? { joblibArrays: walk.joblibArrays } : {}),
      ...(walk.legacyTorch ? { layout: 'legacy torch.save (pre-1.6)' } : {}),
    },
    protocols,
    pickles: walk.pickles,
    opcodes: walk.opcodes,
    globals,
    globalUses: walk.globals.map((g) => ({ global: g.path, class: g.resolved ? classifyGlobal(g.path) : 'unresolved', refs: g.refs, calls: g.calls, offset: g.offset })),
    calls: walk.calls,
    persistentIds: walk.persistentIds,
    memoEntries: walk.memoEntries,
    complete: walk.complete,
  };
  if (joblib) facts.joblibArrayBytes = walk.joblibArrayBytes;
  if (walk.legacyTorch) facts.legacyTorchStorageBytes = walk.unwalkedBytes;
  return { findings, facts, joblib };
}
