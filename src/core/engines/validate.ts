/**
 * The gate in front of every native loader: a model file is read and validated in TypeScript (the same
 * analyzers as `sovereign scan`), then checked against the policy, and only then handed to llama.cpp or ONNX
 * Runtime. A refusal names the rule that refused it.
 */
import { analyzeSource, FileSource } from '../formats';
import { checkModelFile } from '../policy/gate';
import type { LoadedPolicy } from '../policy/load';
import { isBlocking, type Finding } from '../formats/findings';
import { RefusedError } from '../util/errors';
import { handleIdentity, hashHandle, sameIdentity } from './pinned';
import type { EngineKind } from './types';

export interface ValidatedModel {
  path: string;
  format: EngineKind;
  size: number;
  sha256: string;
  /** The analyzer's facts (GGUF: architecture, FIM ids, layers...; ONNX: opsets, inputs...). */
  facts: Record<string, unknown>;
  /** Findings below `high` (kept for reports). */
  findings: Finding[];
  /** The registry version the file belongs to, when the policy gate found one. */
  registered?: { name: string; version: string };
}

/** A decision before loading: resolves to allow, throws RefusedError (naming the rule) to refuse. */
export type ModelGate = (model: ValidatedModel) => Promise<void | { name: string; version: string }>;

/** The policy gate (src/core/policy): the workspace's policy, or the default policy outside a workspace. */
export function policyGate(workspaceRoot: string | undefined, loaded?: LoadedPolicy, subject?: { name: string; version?: string }): ModelGate {
  return async (model) => {
    const decision = await checkModelFile(workspaceRoot, model.path, {
      sha256: model.sha256,
      format: model.format,
      size: model.size,
      findings: model.findings,
      parameterCount: typeof model.facts.parameterCount === 'number' ? model.facts.parameterCount : undefined,
    }, loaded, subject);
    if (!decision.allowed) {
      const first = decision.violations[0];
      throw new RefusedError(
        `refused to load ${model.path}: ${decision.violations.map((v) => v.message).join('; ')}`,
        first?.fix ?? 'see `sovereign policy check`',
      );
    }
    return decision.model ? { name: decision.model.name, version: decision.model.version } : undefined;
  };
}

export interface ValidateOptions {
  /** The policy gate by default (workspace policy, else the default policy); null skips it (tests, bench). */
  gate?: ModelGate | null;
  workspaceRoot?: string;
  signal?: AbortSignal;
}

/** Validates a model file for an engine; throws RefusedError naming the rule, or IoError. */
export async function validateModelFile(path: string, options: ValidateOptions = {}): Promise<ValidatedModel> {
  // One open descriptor for the analysis and the digest: the sha256 is of the bytes that were analysed (a
  // write in between changes the file's ctime and is refused).
  const source = await FileSource.open(path);
  let analysis;
  let sha256: string;
  try {
    const before = await handleIdentity(source.fileHandle);
    analysis = await analyzeSource(source, { signal: options.signal });
    sha256 = (await hashHandle(source.fileHandle, source.size, { signal: options.signal })).sha256;
    if (!sameIdentity(before, await handleIdentity(source.fileHandle))) {
      throw new RefusedError(`refused to load ${path}: the file changed while it was being validated`, 'wait until whatever writes it has finished, then load it again');
    }
  } finally {
    await source.close();
  }
  const blocking = analysis.findings.filter((f) => isBlocking(f.severity));
  if (blocking.length > 0) {
    const shown = blocking.slice(0, 3).map((f) => `rule ${f.rule} (${f.severity}): ${f.message}`).join('; ');
    throw new RefusedError(
      `refused to load ${path} before any native code saw it: ${shown}${blocking.length > 3 ? ` (+${blocking.length - 3} more)` : ''}`,
      `run \`sovereign scan ${path}\` for every finding; re-export or re-download the model`,
    );
  }
  if (analysis.format !== 'gguf' && analysis.format !== 'onnx') {
    throw new RefusedError(
      `${path} is ${analysis.format === 'unknown' ? 'not a recognised model file' : `a ${analysis.format} file`}: engines run GGUF and ONNX models`,
      'convert the model to GGUF (llama.cpp) or ONNX',
    );
  }
  const model: ValidatedModel = {
    path,
    format: analysis.format,
    size: source.size,
    sha256,
    facts: analysis.facts,
    findings: analysis.findings,
  };
  const gate = options.gate === undefined ? policyGate(options.workspaceRoot) : options.gate;
  if (gate) {
    const registered = await gate(model);
    if (registered) model.registered = registered;
  }
  return model;
}
