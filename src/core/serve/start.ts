/**
 * Starts the whole serving runtime: resolve the model (file or manifest), validate it (formats + policy), listen,
 * load the model in a supervised engine process, and record the load. Used by `sovereign serve`, the
 * extension, and the Docker image's entry point.
 */
import { basename } from 'node:path';
import { prepareEngine, type EngineSupervisor, type SupervisorOptions, type EngineLoadOptions, type ModelDescription, type ModelGate, type ValidatedModel } from '../engines';
import { allowedEndpoints, loadPolicy } from '../policy/load';
import { resolveModelSource } from './model-source';
import type { LiveDriftMonitor } from '../drift/live';
import type { LivePromptWindow } from '../drift/prompts';
import { liveDriftFor, promptDriftFor } from './drift-route';
import { ServeRuntime, type ServeOptions } from './server';

export interface StartServeOptions extends ServeOptions {
  /** A .gguf/.onnx path or a registry manifest YAML. */
  model: string;
  load?: EngineLoadOptions;
  workspaceRoot?: string;
  gate?: ModelGate | null;
  supervisor?: SupervisorOptions;
  /** Called once listening, before the model has loaded (/health answers 503 meanwhile). */
  onListening?: (url: string) => void;
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  runtime: ServeRuntime;
  engine: EngineSupervisor;
  model: ValidatedModel;
  description: ModelDescription;
  /** The live drift windows in use (given, or found beside the served manifest). */
  drift?: LiveDriftMonitor;
  promptDrift?: LivePromptWindow;
  /** Closes the HTTP server and stops the engine process. */
  close(): Promise<void>;
}

export async function startServe(options: StartServeOptions): Promise<RunningServer> {
  const source = await resolveModelSource(options.model);
  // The one way to load a model (engines/index.ts), in two steps: validate now, load once listening.
  const prepared = await prepareEngine(source.path, {
    gate: options.gate,
    workspaceRoot: options.workspaceRoot,
    expectedSha256: source.expectedSha256,
    supervisor: options.supervisor,
  });
  const { engine, model } = prepared;
  const parallel = options.parallel ?? options.load?.sequences ?? 1;
  // Shadow traffic may only go where the policy lets this workspace send code (loopback and private ranges by default).
  const mirror = options.mirror ?? { allowed: allowedEndpoints((await loadPolicy(options.workspaceRoot)).policy), auditRoot: options.workspaceRoot };
  // Live drift: a registered ONNX version whose `sovereign eval` stored a baseline beside its manifest.
  const drift = options.drift ?? (model.format === 'onnx' && source.name && source.version ? await liveDriftFor(options.model, source.name, source.version) : undefined);
  // Live prompt drift: a registered GGUF version with a stored baseline prompt set (or the one given).
  const promptDrift = options.promptDrift ?? (model.format === 'gguf' && source.name && source.version ? await promptDriftFor(options.model, source.name, source.version) : undefined);
  const runtime = new ServeRuntime(engine, { ...options, parallel, mirror, drift, promptDrift });
  const metricsModel = source.name ? `${source.name}@${source.version ?? ''}` : basename(source.path);
  drift?.registerMetrics(runtime.metrics.registry, metricsModel);
  promptDrift?.registerMetrics(runtime.metrics.registry, metricsModel);
  const address = await runtime.listen();
  options.onListening?.(address.url);
  let description: ModelDescription;
  try {
    // The engine process loads only these validated bytes (it hashes the file again before every load), and the
    // load is recorded in the audit log with the endpoint.
    description = await prepared.load(
      { ...options.load, sequences: model.format === 'gguf' ? parallel : undefined },
      { subject: source.name ? `${source.name}@${source.version ?? ''}` : basename(source.path), endpoint: address.url },
    );
  } catch (err) {
    await runtime.close();
    await engine.stop();
    throw err;
  }
  if (source.name && description.name !== source.name) description.name = source.version ? `${source.name}@${source.version}` : source.name;
  runtime.modelLoaded(description.loadMs);
  return {
    ...address,
    runtime,
    engine,
    model,
    description,
    drift,
    promptDrift,
    close: async () => {
      await runtime.close();
      await engine.stop();
    },
  };
}
