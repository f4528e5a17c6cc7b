/**
 * Local inference engines. `openEngine` is the one way in: validate the file (formats + policy), start a
 * supervised engine process, load the model, and record the load in the audit log.
 */
import { basename } from 'node:path';
import { auditModelLoad } from './audit-load';
import { EngineSupervisor, type SupervisorOptions } from './supervisor';
import type { EngineLoadOptions, ModelDescription } from './types';
import { validateModelFile, type ModelGate, type ValidatedModel } from './validate';
import { RefusedError } from '../util/errors';

export { EngineSupervisor, EngineCrashedError, EngineRequestError, type SupervisorOptions, type SupervisorState, type LoadSpec, type RequestOptions } from './supervisor';
export { validateModelFile, policyGate, type ModelGate, type ValidatedModel, type ValidateOptions } from './validate';
export { defaultThreads, resolveThreads, physicalCores } from './threads';
export type * from './types';

export interface OpenEngineOptions {
  /** Workspace whose policy applies and whose audit log records the load. */
  workspaceRoot?: string;
  /** Replaces the policy gate; null skips it (benchmarks of a file you just generated). */
  gate?: ModelGate | null;
  /** The digest the file must have (a registry manifest's artifact): refused before anything loads otherwise. */
  expectedSha256?: string;
  /** A caller's own refusal, run on the validated model before the engine starts (e.g. eval takes ONNX only). */
  accept?: (model: ValidatedModel) => void;
  load?: EngineLoadOptions;
  supervisor?: SupervisorOptions;
  signal?: AbortSignal;
}

export interface OpenedEngine {
  engine: EngineSupervisor;
  model: ValidatedModel;
  description: ModelDescription;
}

/** A validated model and its (not yet started) supervised engine: for callers that must act in between (serve listens first). */
export interface PreparedEngine {
  engine: EngineSupervisor;
  model: ValidatedModel;
  /**
   * Starts the engine process, loads exactly the validated bytes (the child hashes the file again before the
   * native load) and records the load in the audit log. Stops the engine when the load fails.
   */
  load(load?: EngineLoadOptions, audit?: { subject?: string; endpoint?: string }): Promise<ModelDescription>;
}

/** Step one of `openEngine`: validation (formats + policy + the expected digest), no process yet. */
export async function prepareEngine(path: string, options: Omit<OpenEngineOptions, 'load'> = {}): Promise<PreparedEngine> {
  const model = await validateModelFile(path, { gate: options.gate, workspaceRoot: options.workspaceRoot, signal: options.signal });
  if (options.expectedSha256 && options.expectedSha256 !== model.sha256) {
    throw new RefusedError(
      `${path} has sha256 ${model.sha256}, not the ${options.expectedSha256} its manifest records`,
      'the store object was modified: run `sovereign registry verify`, then remove the object and add the model again',
    );
  }
  options.accept?.(model);
  const engine = new EngineSupervisor(options.supervisor);
  return {
    engine,
    model,
    async load(load, audit = {}) {
      let description: ModelDescription;
      try {
        description = await engine.start({ path, kind: model.format, sha256: model.sha256, options: load });
      } catch (err) {
        await engine.stop();
        throw err;
      }
      if (options.workspaceRoot) {
        const subject = audit.subject ?? (model.registered ? `${model.registered.name}@${model.registered.version}` : basename(path));
        await auditModelLoad(options.workspaceRoot, subject, model, description, audit.endpoint);
      }
      return description;
    },
  };
}

/** The one way to load a model: validate, start a supervised engine process, load, audit. */
export async function openEngine(path: string, options: OpenEngineOptions = {}): Promise<OpenedEngine> {
  const prepared = await prepareEngine(path, options);
  const description = await prepared.load(options.load);
  return { engine: prepared.engine, model: prepared.model, description };
}
