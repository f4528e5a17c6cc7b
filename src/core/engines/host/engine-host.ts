/**
 * The engine host: the child process entry (bundled to dist/engine-host.js) started by EngineSupervisor with
 * child_process.fork. It owns the native engines, so a llama.cpp abort ends this process, never its parent.
 * It exits when its parent goes away (the IPC channel closes), so no orphan keeps a model in memory.
 */
import '../../govern/egress/guard-engine-process'; // first: the egress guard (docs/egress.md)
import { describeError, SovereignError } from '../../util/errors';
import { OnnxEngine } from '../onnx/onnx-engine';
import { loadGguf, type TextEngine } from './load-gguf';
import type { ChildMessage, EngineMethods, ParentMessage } from '../protocol';
import { resolveThreads } from '../threads';

type Engine = { kind: 'gguf'; gguf: TextEngine } | { kind: 'onnx'; onnx: OnnxEngine };

const started = performance.now();
let engine: Engine | undefined;
const running = new Map<number, AbortController>();

function send(message: ChildMessage): void {
  process.send?.(message);
}

function needGguf(): TextEngine {
  if (engine?.kind !== 'gguf') throw new SovereignError('no GGUF model is loaded in this engine', 'load a .gguf model first');
  return engine.gguf;
}

function needOnnx(): OnnxEngine {
  if (engine?.kind !== 'onnx') throw new SovereignError('no ONNX model is loaded in this engine', 'load an .onnx model first');
  return engine.onnx;
}

/** `emit` sends a generated piece of text to the parent (undefined when the parent asked for no stream). */
type Handlers = { [M in keyof EngineMethods]: (params: EngineMethods[M]['params'], emit: ((text: string) => void) | undefined, signal: AbortSignal) => Promise<EngineMethods[M]['result']> };

const stream = (id: number) => (text: string): void => send({ type: 'token', id, text });

const handlers: Handlers = {
  load: async ({ path, kind, options, fimFamily, sha256 }) => {
    if (engine) throw new SovereignError('a model is already loaded in this engine', 'start another engine for another model');
    const threads = resolveThreads(options.threads);
    // The bytes validated by the parent, and no others: hashed here, right before the native load, on every
    // (re)start; the loader then reads the descriptor that was hashed (see pinned.ts and load-gguf.ts).
    if (kind === 'gguf') {
      const gguf = await loadGguf(path, sha256, threads, options, fimFamily, nativeCrashed);
      engine = { kind, gguf };
      return gguf.description;
    }
    // ONNX: threads means intra-op threads, 1 unless asked (see onnx-engine.ts). From the hashed bytes.
    const onnx = await OnnxEngine.loadVerified(path, sha256, { threads: options.threads ?? 1 });
    engine = { kind, onnx };
    return onnx.description;
  },
  complete: (params, emit, signal) => needGguf().complete(params, signal, emit),
  infill: (params, emit, signal) => needGguf().infill(params, signal, emit),
  chat: (params, emit, signal) => needGguf().chat(params, signal, emit),
  embed: (params) => needGguf().embed(params.texts),
  tokenize: async (params) => ({ tokens: await needGguf().tokenCount(params.text) }),
  predict: (params) => needOnnx().predict(params.inputs, params.outputs),
  health: async () => {
    const memory = process.memoryUsage();
    return {
      pid: process.pid,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      uptimeMs: performance.now() - started,
      busy: running.size - 1, // not counting this health request
      loaded: engine !== undefined,
    };
  },
  crash: async ({ how }) => {
    if (process.env.SOVEREIGN_ENGINE_TEST_HOOKS !== '1') throw new SovereignError('crash is a test hook and is disabled');
    // The same end as a GGML_ASSERT in llama.cpp: SIGABRT, exit status 134.
    if (how === 'abort') process.abort();
    process.exit(70);
  },
};

async function handle(message: ParentMessage): Promise<void> {
  if (message.type === 'cancel') {
    running.get(message.id)?.abort();
    return;
  }
  if (message.type === 'shutdown') {
    await shutdown(0);
    return;
  }
  const { id, method, params } = message;
  const controller = new AbortController();
  running.set(id, controller);
  try {
    const handler = handlers[method] as (p: unknown, emit: ((text: string) => void) | undefined, signal: AbortSignal) => Promise<unknown>;
    if (!handler) throw new SovereignError(`unknown engine method ${String(method)}`);
    // One IPC message per token only when the parent streams: a plain /infill or /v1/completions gets one result.
    const result = await handler(params, message.stream === false ? undefined : stream(id), controller.signal);
    send({ type: 'result', id, result });
  } catch (err) {
    send({
      type: 'error',
      id,
      name: err instanceof Error ? err.name : 'Error',
      message: err instanceof SovereignError ? err.message : describeError(err),
      hint: err instanceof SovereignError ? err.hint : undefined,
    });
  } finally {
    running.delete(id);
  }
}

/**
 * A native llama-server that ends on its own took the model with it: this process ends the same way (its
 * status, 134 for an abort), so the supervisor reports the crash and restarts the engine.
 */
function nativeCrashed(code: number | null, signal: NodeJS.Signals | null): void {
  if (stopping) return;
  process.stderr.write(`sovereign engine: llama-server (native llama.cpp) ${signal ? `was killed by ${signal}` : `exited with status ${code}`}\n`);
  for (const controller of running.values()) controller.abort();
  process.exit(signal === 'SIGABRT' ? 134 : code && code > 0 ? code : 70);
}

let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const controller of running.values()) controller.abort();
  try {
    if (engine?.kind === 'gguf') await engine.gguf.dispose();
    else if (engine?.kind === 'onnx') await engine.onnx.dispose();
  } catch {
    // exiting anyway
  }
  process.exit(code);
}

process.on('message', (message: ParentMessage) => void handle(message));
process.on('disconnect', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
send({ type: 'ready', pid: process.pid });
