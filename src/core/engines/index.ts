/**
 * Local inference engines. `openEngine` is the one way in: validate the file (formats + policy), start a
 * supervised engine process, load the model, and record the load in the audit log.
 */
import { basename } from 'node:path';
import { auditModelLoad } from './audit-load';
import { EngineSupervisor, type SupervisorOptions } from './supervisor';
import type { EngineLoadOptions, ModelDescription } from './types';
import { validateModelFile, type ModelGate, type ValidatedModel } from './validate';

export { EngineSupervisor, EngineCrashedError, EngineRequestError, type SupervisorOptions, type SupervisorState, type LoadSpec, type RequestOptions } from './supervisor';
export { validateModelFile, policyGate, type ModelGate, type ValidatedModel, type ValidateOptions } from './validate';
export { defaultThreads, resolveThreads, physicalCores } from './threads';
export type * from './types';

export interface OpenEngineOptions {
  /** Workspace whose policy applies and whose audit log records the load. */
  workspaceRoot?: string;
  /** Replaces the policy gate; null skips it (benchmarks of a file you just generated). */
  gate?: ModelGate | null;
  load?: EngineLoadOptions;
  supervisor?: SupervisorOptions;
  signal?: AbortSignal;
}

export interface OpenedEngine {
  engine: EngineSupervisor;
  model: ValidatedModel;
  description: ModelDescription;
}

export async function openEngine(path: string, options: OpenEngineOptions = {}): Promise<OpenedEngine> {
  const model = await validateModelFile(path, { gate: options.gate, workspaceRoot: options.workspaceRoot, signal: options.signal });
  const engine = new EngineSupervisor(options.supervisor);
  const description = await engine.start({ path, kind: model.format, sha256: model.sha256, options: options.load });
  if (options.workspaceRoot) {
    await auditModelLoad(options.workspaceRoot, model.registered ? `${model.registered.name}@${model.registered.version}` : basename(path), model, description);
  }
  return { engine, model, description };
}
