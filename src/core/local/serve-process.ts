import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { guardedFetch } from '../net/egress';
import { SovereignError } from '../util/errors';

export type ServeState = 'starting' | 'ready' | 'restarting' | 'failed' | 'stopped';

export interface ServeProcessOptions {
  /** dist/cli.js of this extension/package. */
  cliPath: string;
  /** A model file or a registry manifest, as `sovereign serve --model` takes it. */
  model: string;
  /** Extra `sovereign serve` arguments (threads, context size...). A `--token` here is moved to the environment. */
  args?: string[];
  /** Bearer token the child requires; handed over in its environment (SOVEREIGN_SERVE_TOKEN), never in argv (`ps`). */
  token?: string;
  env?: NodeJS.ProcessEnv;
  /** Working folder: the workspace, so the serving runtime finds its registry and policy. */
  cwd?: string;
  /** Restarts after a crash before giving up (with exponential back-off). */
  maxRestarts?: number;
  backoffMs?: number;
  /** Time allowed for the model to load and /health to answer 200. */
  readyTimeoutMs?: number;
}

export interface ServeStats {
  pid?: number;
  rssBytes?: number;
  state: ServeState;
  url?: string;
  restarts: number;
  lastError?: string;
  /** Where the model runs, from the ready line of `sovereign serve` (GGUF models). */
  backend?: ServedBackend;
}

/** The llama.cpp backend a served GGUF model loaded on: 'cuda', 'vulkan', 'metal', or false (the CPU build). */
export interface ServedBackend {
  gpu: string | false;
  gpuLayers?: number;
  totalLayers?: number;
  /** Which llama.cpp runs it: node-llama-cpp's prebuilt binary or a native build of this machine. */
  llamaCpp?: 'prebuilt' | 'native';
}

/**
 * A supervised `sovereign serve` child: the same serving runtime as on a developer's terminal and in the
 * staging container, placed in the extension's care. A crash (llama.cpp abort included) never takes the
 * parent down: it is reported, then the child restarts with back-off, up to a limit.
 *
 * Events: 'state' (ServeState), 'log' (line), 'exit' (code, signal).
 */
export class ServeProcess extends EventEmitter {
  private child: ChildProcess | undefined;
  private state: ServeState = 'stopped';
  private url: string | undefined;
  private restarts = 0;
  private lastError: string | undefined;
  private backend: ServedBackend | undefined;
  private stopping = false;
  private readonly recentLog: string[] = [];

  constructor(private readonly options: ServeProcessOptions) {
    super();
  }

  get stats(): ServeStats {
    return { pid: this.child?.pid, state: this.state, url: this.url, restarts: this.restarts, lastError: this.lastError, backend: this.backend };
  }

  /** Starts the child and resolves with its base URL once /health answers 200. */
  async start(): Promise<string> {
    this.stopping = false;
    this.setState('starting');
    try {
      const url = await this.spawnAndWait();
      this.setState('ready');
      return url;
    } catch (err) {
      this.lastError = (err as Error).message;
      this.setState('failed');
      await this.kill();
      throw err;
    }
  }

  /** Resident memory of the child (Linux /proc; undefined elsewhere). */
  async memory(): Promise<number | undefined> {
    const pid = this.child?.pid;
    if (!pid) return undefined;
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const m = /VmRSS:\s+(\d+) kB/.exec(status);
      return m ? Number(m[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  /** SIGTERM, then SIGKILL after a grace period. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.kill();
    this.url = undefined;
    this.setState('stopped');
  }

  private async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }

  private spawnAndWait(): Promise<string> {
    const o = this.options;
    const { args: extra, token } = tokenOutOfArgs(o.args ?? [], o.token);
    const args = ['serve', '--model', o.model, '--host', '127.0.0.1', '--port', '0', ...extra];
    // fork runs the host's own binary as Node (Electron in VS Code desktop): never assume `node` on PATH.
    const child = fork(o.cliPath, args, {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ...o.env, ...(token !== undefined ? { SOVEREIGN_SERVE_TOKEN: token } : {}), ELECTRON_RUN_AS_NODE: '1' },
      cwd: o.cwd,
      execArgv: [],
    });
    this.child = child;
    return new Promise<string>((resolve, reject) => {
      let settled = false;
      const fail = (message: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const tail = this.recentLog.slice(-8).join('\n');
        reject(new SovereignError(`the local model did not start: ${message}`, tail ? `last output:\n${tail}` : 'see the Sovereign Workbench output channel'));
      };
      const timer = setTimeout(() => fail(`not ready after ${(o.readyTimeoutMs ?? 120_000) / 1000} s`), o.readyTimeoutMs ?? 120_000);
      // The runtime's JSON ready line (stdout, after the model has loaded) carries the backend: /health can answer
      // before that line has been read here (it races the "listening on" line of stderr), so both are awaited.
      let readyLineSeen: () => void = () => undefined;
      const readyLine = new Promise<void>((done) => (readyLineSeen = done));
      const onLine = (line: string): void => {
        this.recentLog.push(line);
        if (this.recentLog.length > 50) this.recentLog.shift();
        this.emit('log', line);
        this.backend = parseServeBackend(line) ?? this.backend;
        const url = parseServeUrl(line);
        if (url && line.trim().startsWith('{')) readyLineSeen();
        if (url && !settled) {
          this.waitHealthy(url, child).then(() => readyLine).then(
            () => {
              if (settled) return;
              settled = true;
              clearTimeout(timer);
              this.url = url;
              resolve(url);
            },
            (err: Error) => fail(err.message),
          );
        }
      };
      createInterface({ input: child.stdout! }).on('line', onLine);
      createInterface({ input: child.stderr! }).on('line', onLine);
      child.once('error', (err) => fail(err.message));
      child.once('exit', (code, signal) => {
        this.emit('exit', code, signal);
        const why = signal ? `killed by ${signal}` : `exited with code ${code}${code === 134 ? ' (llama.cpp aborted)' : ''}`;
        if (!settled) return fail(why);
        if (!this.stopping) this.onCrash(why);
      });
    });
  }

  private async waitHealthy(url: string, child: ChildProcess): Promise<void> {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error('the serving process exited while loading');
      try {
        const res = await guardedFetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
        await res.body?.cancel();
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private onCrash(why: string): void {
    this.lastError = why;
    this.url = undefined;
    const max = this.options.maxRestarts ?? 3;
    if (this.restarts >= max) {
      this.setState('failed');
      return;
    }
    this.restarts++;
    this.setState('restarting');
    const delay = (this.options.backoffMs ?? 500) * 2 ** (this.restarts - 1);
    setTimeout(() => {
      if (this.stopping) return;
      this.spawnAndWait().then(
        (url) => {
          this.url = url;
          this.setState('ready');
        },
        (err: Error) => {
          this.lastError = err.message;
          this.setState('failed');
        },
      );
    }, delay);
  }

  private setState(state: ServeState): void {
    this.state = state;
    this.emit('state', state);
  }
}

/** Takes `--token T` / `--token=T` out of the arguments: the token travels in the environment, out of `ps`. */
export function tokenOutOfArgs(args: readonly string[], token?: string): { args: string[]; token?: string } {
  const out: string[] = [];
  let found = token;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--token' && i + 1 < args.length) {
      found ??= args[++i];
    } else if (args[i].startsWith('--token=')) {
      found ??= args[i].slice('--token='.length);
    } else {
      out.push(args[i]);
    }
  }
  return { args: out, token: found };
}

/**
 * `sovereign serve` announces where it listens on stdout; accepts a JSON line with `url` or a line with an
 * http://127.0.0.1:PORT address.
 */
/** The backend in the JSON ready line of `sovereign serve` (`gpu`, `gpuLayers`, `totalLayers`, `llamaCpp`), if the line is it. */
export function parseServeBackend(line: string): ServedBackend | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(trimmed) as { url?: unknown; gpu?: unknown; gpuLayers?: unknown; totalLayers?: unknown; llamaCpp?: unknown };
    if (typeof parsed.url !== 'string' || (typeof parsed.gpu !== 'string' && parsed.gpu !== false)) return undefined;
    return {
      gpu: parsed.gpu,
      gpuLayers: typeof parsed.gpuLayers === 'number' ? parsed.gpuLayers : undefined,
      totalLayers: typeof parsed.totalLayers === 'number' ? parsed.totalLayers : undefined,
      llamaCpp: parsed.llamaCpp === 'native' || parsed.llamaCpp === 'prebuilt' ? parsed.llamaCpp : undefined,
    };
  } catch {
    return undefined;
  }
}

export function parseServeUrl(line: string): string | undefined {
  const trimmed = line.trim();
  if (trimmed.startsWith('{')) {
    try {
      const parsed = JSON.parse(trimmed) as { url?: unknown };
      if (typeof parsed.url === 'string') return parsed.url.replace(/\/+$/, '');
    } catch {
      // not JSON after all
    }
  }
  const m = /(https?:\/\/(?:127\.0\.0\.1|localhost|\[::1\]):\d+)/.exec(trimmed);
  return m?.[1];
}
