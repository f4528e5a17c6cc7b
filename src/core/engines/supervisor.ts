/**
 * EngineSupervisor: runs one model in a child process (child_process.fork: in VS Code desktop that runs the
 * host's own binary as Node, so no `node` on PATH is assumed) and talks to it over typed IPC with request ids.
 *
 * - start: fork, wait for `ready`, load the model.
 * - health: a periodic ping; a child that stops answering is killed and restarted.
 * - restart with back-off: a child that dies after its model loaded is started again (delay doubling up to a
 *   cap, at most `maxRestarts` in `restartWindowMs`); one that dies WHILE loading is not (the same file would
 *   abort again): the load fails with the exit status and the last lines the child wrote (GGML_ASSERT...).
 * - clean shutdown: a `shutdown` message, then SIGTERM, then SIGKILL.
 * - memory: the child's resident set size.
 * - streaming: `token` messages before the result; cancellation: AbortSignal -> `cancel` message.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { SovereignError } from '../util/errors';
import { engineHostEntry, type HostEntry } from './host-entry';
import { LlamaServerClient } from './native/llama-server-client';
import { LlamaServerConnection } from './native/llama-server-connection';
import type { ChildMessage, EngineMethod, EngineMethods, ParentMessage } from './protocol';
import type {
  ChatRequest,
  CompletionRequest,
  EmbeddingResult,
  EngineHealth,
  EngineKind,
  EngineLoadOptions,
  GenerationResult,
  InfillRequest,
  JsonTensor,
  ModelDescription,
  PredictResult,
} from './types';

/** The engine process ended while a request or the load was in flight. */
export class EngineCrashedError extends SovereignError {
  constructor(
    readonly exitCode_: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly lastOutput: string,
    during: string,
  ) {
    const how = signal ? `was killed by ${signal}${signal === 'SIGABRT' ? ' (llama.cpp aborted)' : ''}` : `exited with status ${exitCode_}${exitCode_ === 134 ? ' (llama.cpp aborted)' : ''}`;
    const lines = lastOutput.split('\n');
    const assert = lines.find((l) => /GGML_ASSERT|GGML_ABORT/.test(l)) ?? lines.find((l) => /terminate called|error/i.test(l));
    super(
      `the engine process ${how} during ${during}${assert ? `: ${assert.trim().slice(0, 300)}` : ''}`,
      'the model file passed validation but the native runtime rejected it; report the file to its publisher, or try another build of the model',
      1,
    );
    this.name = 'EngineCrashedError';
  }
}

/** The engine answered with an error (bad request, unsupported feature...): the child keeps running. */
export class EngineRequestError extends SovereignError {
  constructor(message: string, hint: string | undefined, readonly remoteName: string) {
    super(message, hint, remoteName === 'UsageError' ? 2 : 1);
    this.name = remoteName === 'UsageError' || remoteName === 'RefusedError' ? remoteName : 'EngineRequestError';
  }
}

export interface LoadSpec {
  path: string;
  kind: EngineKind;
  /**
   * The sha256 that validation (validateModelFile) recorded. The engine process hashes the file again right
   * before every native load, the restarts after a crash included, and refuses any other bytes.
   */
  sha256: string;
  options?: EngineLoadOptions;
  fimFamily?: string;
}

export interface SupervisorOptions {
  host?: HostEntry;
  env?: NodeJS.ProcessEnv;
  /** Ping period; 0 switches health checks off. Default 5 s. */
  healthIntervalMs?: number;
  /** A ping unanswered this long makes the child unhealthy (killed, restarted). Default 15 s. */
  healthTimeoutMs?: number;
  /** First restart delay (doubles each time). Default 250 ms. */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
  /** Restarts allowed within restartWindowMs before giving up. Default 5 in 60 s. */
  maxRestarts?: number;
  restartWindowMs?: number;
  /** How long `stop` waits after each step (message, SIGTERM) before the next one. Default 3 s. */
  stopTimeoutMs?: number;
  /** The child's stderr/stdout lines (llama.cpp logs). Default: dropped (the tail is kept for crash reports). */
  onLog?: (line: string) => void;
  /**
   * A native llama.cpp build (description.llamaCpp.build 'native'): send generation and token counts straight
   * to its llama-server socket rather than through the engine host's IPC (default true).
   */
  directNative?: boolean;
}

export type SupervisorState = 'idle' | 'starting' | 'ready' | 'restarting' | 'failed' | 'stopped';

export interface SupervisorEvents {
  state: [SupervisorState];
  exit: [{ code: number | null; signal: NodeJS.Signals | null; expected: boolean }];
  restart: [{ attempt: number; delayMs: number }];
  unhealthy: [{ reason: string }];
  /** A restart after a crash could not load the model (e.g. the file changed: the engine refused it). */
  restartFailed: [{ error: Error }];
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Streaming: each piece of generated text as it comes. */
  onToken?: (text: string) => void;
}

interface Pending {
  method: EngineMethod;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  onToken?: (text: string) => void;
}

const OUTPUT_TAIL = 4096;

export class EngineSupervisor extends EventEmitter<SupervisorEvents> {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private outputTail = '';
  private spec: LoadSpec | undefined;
  private described: ModelDescription | undefined;
  /** Generation straight to a native llama-server's socket (see viaSocket). */
  private direct: LlamaServerClient | undefined;
  private stateValue: SupervisorState = 'idle';
  private restartTimes: number[] = [];
  private healthTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restarting: Promise<void> | undefined;
  private failure: Error | undefined;
  /** `token` messages received from the child (streamed requests only; for the IPC cost in benchmarks and tests). */
  tokenMessages = 0;
  /** Exits of this child, newest last (for reports and tests). */
  readonly exits: { code: number | null; signal: NodeJS.Signals | null; at: number }[] = [];
  private readonly options: Required<Omit<SupervisorOptions, 'host' | 'env' | 'onLog'>> & Pick<SupervisorOptions, 'host' | 'env' | 'onLog'>;

  constructor(options: SupervisorOptions = {}) {
    super();
    this.options = {
      healthIntervalMs: 5000,
      healthTimeoutMs: 15000,
      restartDelayMs: 250,
      maxRestartDelayMs: 10000,
      maxRestarts: 5,
      restartWindowMs: 60000,
      stopTimeoutMs: 3000,
      directNative: true,
      ...options,
    };
  }

  get state(): SupervisorState {
    return this.stateValue;
  }

  /** What the loaded model is (undefined before the first load). */
  get description(): ModelDescription | undefined {
    return this.described;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Why the engine is 'failed' after a restart that could not load the model (undefined otherwise). */
  get lastFailure(): Error | undefined {
    return this.failure;
  }

  /** Starts the child and loads the model. Rejects with EngineCrashedError if the child dies while loading. */
  async start(spec: LoadSpec): Promise<ModelDescription> {
    if (this.child) throw new SovereignError('this engine is already started', 'stop it first');
    this.spec = spec;
    this.setState('starting');
    try {
      const description = await this.spawnAndLoad(spec);
      this.setState('ready');
      this.scheduleHealth();
      return description;
    } catch (err) {
      this.setState('failed');
      await this.killChild();
      throw err;
    }
  }

  complete(request: CompletionRequest, options: RequestOptions = {}): Promise<GenerationResult> {
    return this.request('complete', request, options);
  }

  infill(request: InfillRequest, options: RequestOptions = {}): Promise<GenerationResult> {
    return this.request('infill', request, options);
  }

  chat(request: ChatRequest, options: RequestOptions = {}): Promise<GenerationResult> {
    return this.request('chat', request, options);
  }

  embed(texts: string[], options: RequestOptions = {}): Promise<EmbeddingResult> {
    return this.request('embed', { texts }, options);
  }

  tokenCount(text: string): Promise<number> {
    return this.request('tokenize', { text }, {}).then((r) => r.tokens);
  }

  predict(inputs: Record<string, JsonTensor>, outputs?: string[], options: RequestOptions = {}): Promise<PredictResult> {
    return this.request('predict', { inputs, outputs }, options);
  }

  health(timeoutMs = this.options.healthTimeoutMs): Promise<EngineHealth> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new SovereignError(`the engine did not answer a health check within ${timeoutMs} ms`)), timeoutMs);
    return this.request('health', {}, { signal: controller.signal }).finally(() => clearTimeout(timer));
  }

  /** Resident memory of the child in bytes, read from /proc without disturbing it (via IPC elsewhere). */
  async rssBytes(): Promise<number | undefined> {
    const pid = this.child?.pid;
    if (pid === undefined) return undefined;
    try {
      const statm = await readFile(`/proc/${pid}/statm`, 'utf8');
      return Number(statm.split(' ')[1]) * 4096;
    } catch {
      return (await this.health().catch(() => undefined))?.rssBytes;
    }
  }

  /** Test hook: makes the child crash like llama.cpp does (needs SOVEREIGN_ENGINE_TEST_HOOKS=1 in its env). */
  crashForTest(how: 'abort' | 'exit' = 'abort'): Promise<never> {
    return this.request('crash', { how }, {});
  }

  /** Waits until a restart in progress has finished (resolves at once when none is). */
  async whenSettled(): Promise<void> {
    while (this.restarting) await this.restarting;
  }

  /** Stops the child: `shutdown` message, then SIGTERM, then SIGKILL. Pending requests are rejected. */
  async stop(): Promise<void> {
    this.setState('stopped');
    this.clearTimers();
    await this.killChild();
  }

  private async request<M extends EngineMethod>(method: M, params: EngineMethods[M]['params'], options: RequestOptions): Promise<EngineMethods[M]['result']> {
    // Requests made while the child restarts wait for it (the restart's own load goes through call()).
    if (this.restarting) await this.restarting;
    if (this.stateValue === 'failed' || this.stateValue === 'stopped') {
      if (this.stateValue === 'failed' && this.failure) {
        throw new SovereignError(`the engine is failed: its restart after a crash could not load the model: ${this.failure.message}`, (this.failure as SovereignError).hint ?? 'start it again');
      }
      throw new SovereignError(`the engine is ${this.stateValue}`, 'start it again (sovereign serve restarts it after a crash)');
    }
    const direct = this.direct;
    if (direct && this.child && isDirectMethod(method)) return this.viaSocket(direct, this.child, method, params, options) as Promise<EngineMethods[M]['result']>;
    return this.call(method, params, options);
  }

  /**
   * A generation request sent straight to the native llama-server's socket (the engine host owns the
   * process; the request skips its IPC hop). Errors read as they do through the child: the engine's refusals
   * as EngineRequestError, a connection lost with the process as EngineCrashedError.
   */
  private async viaSocket(client: LlamaServerClient, child: ChildProcess, method: DirectMethod, params: unknown, options: RequestOptions): Promise<unknown> {
    const signal = options.signal ?? new AbortController().signal;
    if (signal.aborted) throw abortReason(signal);
    let result: unknown;
    try {
      if (method === 'complete') result = await client.complete(params as CompletionRequest, signal, options.onToken);
      else if (method === 'infill') result = await client.infill(params as InfillRequest, signal, options.onToken);
      else if (method === 'chat') result = await client.chat(params as ChatRequest, signal, options.onToken);
      else result = { tokens: await client.tokenCount((params as { text: string }).text) };
    } catch (err) {
      if (signal.aborted) throw abortReason(signal);
      if (err instanceof SovereignError) throw new EngineRequestError(err.message, err.hint, err.name);
      // The socket failed: llama-server is gone, and its engine host with it (give the exit a moment to arrive).
      const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve({ code: child.exitCode, signal: child.signalCode });
        const timer = setTimeout(() => resolve(undefined), 2000);
        child.once('exit', (code, sig) => {
          clearTimeout(timer);
          resolve({ code, signal: sig });
        });
      });
      if (exit) throw new EngineCrashedError(exit.code, exit.signal, this.outputTail, `a ${method} request`);
      throw new SovereignError(`the native llama.cpp engine's socket failed during a ${method} request: ${err instanceof Error ? err.message : String(err)}`, 'retry; the engine is restarted if it crashed');
    }
    if (signal.aborted) throw abortReason(signal);
    return result;
  }

  private call<M extends EngineMethod>(method: M, params: EngineMethods[M]['params'], options: RequestOptions): Promise<EngineMethods[M]['result']> {
    const child = this.child;
    if (!child || !child.connected) {
      return Promise.reject(new SovereignError('the engine is not running', 'start it again (sovereign serve restarts it after a crash)'));
    }
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const id = this.nextId++;
    return new Promise<EngineMethods[M]['result']>((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.pending.delete(id)) return;
        this.post({ type: 'cancel', id });
        reject(abortReason(signal!));
      };
      this.pending.set(id, {
        method,
        resolve: (v) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(v as EngineMethods[M]['result']);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
        onToken: options.onToken,
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.post({ type: 'request', id, method, params, stream: options.onToken !== undefined });
    });
  }

  private post(message: ParentMessage): void {
    if (this.child?.connected) this.child.send(message);
  }

  private async spawnAndLoad(spec: LoadSpec): Promise<ModelDescription> {
    await this.spawn();
    const description = await this.call('load', { path: spec.path, kind: spec.kind, options: spec.options ?? {}, fimFamily: spec.fimFamily, sha256: spec.sha256 }, {});
    this.described = description;
    const socket = description.llamaCpp?.socket;
    if (socket && this.options.directNative) this.direct = new LlamaServerClient(new LlamaServerConnection(socket, description.sequences ?? 1), description);
    return description;
  }

  private dropDirect(): void {
    this.direct?.close();
    this.direct = undefined;
  }

  private spawn(): Promise<void> {
    const host = this.options.host ?? engineHostEntry();
    this.outputTail = '';
    const child = fork(host.script, [], {
      execArgv: host.execArgv,
      // stdout of the CLI carries results only: the child's output goes to a pipe, never to our stdout.
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Electron (VS Code desktop) runs a forked script as plain Node only with this flag.
      env: { ...process.env, ...this.options.env, ELECTRON_RUN_AS_NODE: '1' },
      serialization: 'json',
    });
    this.child = child;
    const capture = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      this.outputTail = (this.outputTail + text).slice(-OUTPUT_TAIL);
      if (this.options.onLog) for (const line of text.split('\n')) if (line.trim()) this.options.onLog(line);
    };
    child.stdout?.on('data', capture);
    child.stderr?.on('data', capture);
    return new Promise<void>((resolve, reject) => {
      const onReady = (message: ChildMessage): void => {
        if (message.type === 'ready') {
          child.off('exit', onEarlyExit);
          resolve();
        }
      };
      const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        reject(new EngineCrashedError(code, signal, this.outputTail, 'start-up'));
      };
      child.once('exit', onEarlyExit);
      child.on('message', (message: ChildMessage) => {
        onReady(message);
        this.onMessage(message);
      });
      child.on('exit', (code, signal) => this.onExit(child, code, signal));
      child.on('error', () => {
        // 'exit' follows for a child that started; a fork that failed outright is reported by onEarlyExit.
      });
    });
  }

  private onMessage(message: ChildMessage): void {
    if (message.type === 'ready') return;
    if (message.type === 'token') this.tokenMessages++;
    const pending = this.pending.get(message.id);
    if (!pending) return; // cancelled or timed out: late messages are dropped
    if (message.type === 'token') {
      pending.onToken?.(message.text);
      return;
    }
    this.pending.delete(message.id);
    if (message.type === 'result') pending.resolve(message.result);
    else pending.reject(new EngineRequestError(message.message, message.hint, message.name));
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.dropDirect();
    this.exits.push({ code, signal, at: Date.now() });
    const expected = this.stateValue === 'stopped';
    this.emit('exit', { code, signal, expected });
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(new EngineCrashedError(code, signal, this.outputTail, pending.method === 'load' ? 'the model load' : `a ${pending.method} request`));
    }
    if (!expected && this.stateValue === 'ready') this.scheduleRestart();
  }

  private scheduleRestart(): void {
    const now = Date.now();
    this.restartTimes = this.restartTimes.filter((t) => now - t < this.options.restartWindowMs);
    if (this.restartTimes.length >= this.options.maxRestarts) {
      this.setState('failed');
      this.clearTimers();
      return;
    }
    const attempt = this.restartTimes.length + 1;
    this.restartTimes.push(now);
    const delayMs = Math.min(this.options.restartDelayMs * 2 ** (attempt - 1), this.options.maxRestartDelayMs);
    this.setState('restarting');
    this.emit('restart', { attempt, delayMs });
    this.restarting = new Promise<void>((resolve) => {
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        const spec = this.spec!;
        this.spawnAndLoad(spec).then(
          () => {
            this.restarting = undefined;
            if (this.stateValue === 'restarting') this.setState('ready');
            resolve();
          },
          (err: unknown) => {
            this.restarting = undefined;
            // The exit handler of the new child decides what comes next; a child that fails to load is final
            // (a model file that changed since validation is refused by the child: never loaded, never retried).
            if (this.stateValue === 'restarting') {
              this.failure = err instanceof Error ? err : new Error(String(err));
              this.setState('failed');
              this.emit('restartFailed', { error: this.failure });
              void this.killChild();
            }
            resolve();
          },
        );
      }, delayMs);
    });
  }

  private scheduleHealth(): void {
    if (this.options.healthIntervalMs <= 0) return;
    this.healthTimer = setInterval(() => {
      if (this.stateValue !== 'ready' || !this.child) return;
      const child = this.child;
      this.health().catch((err: unknown) => {
        if (err instanceof EngineCrashedError || this.child !== child || this.stateValue !== 'ready') return;
        this.emit('unhealthy', { reason: err instanceof Error ? err.message : String(err) });
        child.kill('SIGKILL'); // the exit handler restarts it
      });
    }, this.options.healthIntervalMs);
    this.healthTimer.unref();
  }

  private clearTimers(): void {
    if (this.healthTimer) clearInterval(this.healthTimer);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.healthTimer = undefined;
    this.restartTimer = undefined;
    this.restarting = undefined;
  }

  private setState(state: SupervisorState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.emit('state', state);
  }

  private async killChild(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const wait = (ms: number): Promise<boolean> =>
      Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
    if (child.connected) child.send({ type: 'shutdown' } satisfies ParentMessage);
    if (await wait(this.options.stopTimeoutMs)) return;
    child.kill('SIGTERM');
    if (await wait(this.options.stopTimeoutMs)) return;
    child.kill('SIGKILL');
    await exited;
  }
}

/** What the supervisor sends straight to a native llama-server (docs/engines.md). */
type DirectMethod = 'complete' | 'infill' | 'chat' | 'tokenize';
function isDirectMethod(method: EngineMethod): method is DirectMethod {
  return method === 'complete' || method === 'infill' || method === 'chat' || method === 'tokenize';
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const err = new Error('the request was cancelled');
  err.name = 'AbortError';
  return err;
}
