/**
 * One llama-server process of a native build, owned by the engine host (the supervised child): started on a
 * unix socket in a private folder, the model handed over as an open descriptor (the bytes the engine host
 * hashed), no network at all where the kernel allows it, and ended with its parent.
 *
 * - Socket, not TCP: nothing listens on a port; the folder is 0700, so only this user can connect.
 * - Network: on Linux it runs in a network namespace of its own (`unshare --user --map-root-user --net`), where
 *   only an unconfigured loopback exists: llama.cpp cannot open a connection to anything, whatever its code
 *   does. Where user namespaces are unavailable (e.g. inside a container without the capability) it runs in
 *   ours and `isolation` says `none` (the build has no download code: LLAMA_CURL=OFF).
 * - Lifetime: `setpriv --pdeathsig KILL` ends it when the engine host dies, even by SIGKILL, so no orphan keeps
 *   a model in memory. Its stderr is the engine host's own (the supervisor keeps the tail for crash reports).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SovereignError } from '../../util/errors';

export type NativeIsolation = 'network-namespace' | 'none';

export interface LlamaServerStart {
  binary: string;
  /** What llama-server opens: a path, or the descriptor to hand over as its fd 3 (`/proc/self/fd/3` there). */
  model: { path: string } | { fd: number };
  threads: number;
  /** Total context: the per-request window times `parallel`. */
  contextSize: number;
  parallel: number;
  batchSize?: number;
  gpuLayers: number;
  embeddings?: boolean;
  /** Load timeout (ms). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

let wrappersChecked: { isolation: NativeIsolation; prefix: string[] } | undefined;

/** Which wrappers this machine offers: a network namespace (unshare) and parent-death signal (setpriv). */
export function nativeWrappers(): { isolation: NativeIsolation; prefix: string[] } {
  if (wrappersChecked) return wrappersChecked;
  const prefix: string[] = [];
  let isolation: NativeIsolation = 'none';
  if (process.platform === 'linux') {
    const works = (cmd: string, args: string[]): boolean => {
      const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 5000 });
      return r.status === 0;
    };
    if (works('unshare', ['--user', '--map-root-user', '--net', 'true'])) {
      prefix.push('unshare', '--user', '--map-root-user', '--net', '--');
      isolation = 'network-namespace';
    }
    if (works('setpriv', ['--pdeathsig', 'KILL', 'true'])) prefix.push('setpriv', '--pdeathsig', 'KILL', '--');
  }
  wrappersChecked = { isolation, prefix };
  return wrappersChecked;
}

export interface HttpReply {
  status: number;
  body: unknown;
}

export class LlamaServerProcess {
  private readonly agent: Agent;
  private stopping = false;

  private constructor(
    readonly child: ChildProcess,
    private readonly folder: string,
    readonly socketPath: string,
    readonly isolation: NativeIsolation,
    parallel: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: parallel + 4 });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Starts llama-server and waits until /health says the model is loaded. */
  static async start(options: LlamaServerStart): Promise<LlamaServerProcess> {
    const folder = mkdtempSync(join(tmpdir(), 'sovereign-llama-'));
    const socketPath = join(folder, 'llama-server.sock');
    const { isolation, prefix } = nativeWrappers();
    const modelArg = 'fd' in options.model ? '/proc/self/fd/3' : options.model.path;
    const args = [
      '--model', modelArg,
      '--host', socketPath,
      '--threads', String(options.threads),
      '--threads-batch', String(options.threads),
      '--ctx-size', String(options.contextSize),
      '--parallel', String(options.parallel),
      '--n-gpu-layers', String(options.gpuLayers),
      '--no-webui',
      '--no-slots',
      ...(options.batchSize ? ['--batch-size', String(options.batchSize)] : []),
      ...(options.embeddings ? ['--embeddings'] : []),
    ];
    const command = [...prefix, options.binary, ...args];
    const stdio: ('ignore' | 'inherit' | number)[] = ['ignore', 'ignore', 'inherit'];
    if ('fd' in options.model) stdio.push(options.model.fd);
    // A minimal environment: nothing of ours (tokens, proxies) reaches the native process.
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' };
    const child = spawn(command[0], command.slice(1), { stdio, env });
    const server = new LlamaServerProcess(child, folder, socketPath, isolation, options.parallel);
    try {
      await server.waitHealthy(options.timeoutMs ?? 10 * 60_000, options.signal);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  private async waitHealthy(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited: string | undefined;
    const onExit = (code: number | null, sig: NodeJS.Signals | null): void => {
      exited = sig ? `was killed by ${sig}` : `exited with status ${code}`;
    };
    const onError = (err: Error): void => {
      exited = `could not start (${err.message})`;
    };
    this.child.once('exit', onExit);
    this.child.once('error', onError);
    try {
      for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
        if (exited) throw new SovereignError(`the native llama.cpp build (llama-server) ${exited} while loading the model`, 'its log is above; `sovereign engine status` checks the build, --llama-cpp prebuilt uses node-llama-cpp instead');
        signal?.throwIfAborted();
        const reply = await this.call('GET', '/health').catch(() => undefined);
        if (reply?.status === 200) return;
        if (Date.now() > deadline) throw new SovereignError(`the native llama.cpp build (llama-server) did not load the model within ${Math.round(timeoutMs / 1000)} s`, 'a model this large may need more time or memory');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    } finally {
      this.child.off('exit', onExit);
      this.child.off('error', onError);
    }
  }

  /** A JSON request over the socket; the body parsed as JSON (or the text when it is not JSON). */
  call(method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal): Promise<HttpReply> {
    return new Promise((resolve, reject) => {
      this.open(method, path, body, signal, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      }, reject);
    });
  }

  /**
   * A streamed request (server-sent events): `onEvent` gets each `data:` payload parsed; resolves with the
   * status once the stream ends. A non-200 reply resolves with its parsed body and no events.
   */
  stream(path: string, body: unknown, onEvent: (event: Record<string, unknown>) => void, signal?: AbortSignal): Promise<HttpReply> {
    return new Promise((resolve, reject) => {
      this.open('POST', path, body, signal, (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // keep the text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          return;
        }
        res.setEncoding('utf8');
        let pending = '';
        res.on('data', (chunk: string) => {
          pending += chunk;
          for (let end = pending.indexOf('\n\n'); end >= 0; end = pending.indexOf('\n\n')) {
            const block = pending.slice(0, end);
            pending = pending.slice(end + 2);
            for (const line of block.split('\n')) {
              if (!line.startsWith('data: ')) continue;
              const data = line.slice(6);
              if (data === '[DONE]') continue;
              try {
                onEvent(JSON.parse(data) as Record<string, unknown>);
              } catch (err) {
                res.destroy(err as Error);
                return;
              }
            }
          }
        });
        res.on('error', reject);
        res.on('end', () => resolve({ status: 200, body: undefined }));
      }, reject);
    });
  }

  private open(method: string, path: string, body: unknown, signal: AbortSignal | undefined, onResponse: (res: IncomingMessage) => void, onError: (err: Error) => void): void {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = httpRequest(
      {
        socketPath: this.socketPath,
        agent: this.agent,
        method,
        path,
        headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
      },
      onResponse,
    );
    req.on('error', onError);
    if (signal) {
      // Closing the connection stops llama-server's generation for this request.
      const abort = (): void => void req.destroy(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
      if (signal.aborted) abort();
      else {
        signal.addEventListener('abort', abort, { once: true });
        req.on('close', () => signal.removeEventListener('abort', abort));
      }
    }
    req.end(payload);
  }

  /** Calls `onCrash` when the process ends without stop() having been called. */
  onUnexpectedExit(onCrash: (code: number | null, signal: NodeJS.Signals | null) => void): void {
    this.child.once('exit', (code, signal) => {
      if (!this.stopping) onCrash(code, signal);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.agent.destroy();
    const child = this.child;
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      });
    }
    rmSync(this.folder, { recursive: true, force: true });
  }
}
