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
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SovereignError } from '../../util/errors';
import { LlamaServerConnection } from './llama-server-connection';

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
  /** Load timeout (ms). */
  timeoutMs?: number;
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

export class LlamaServerProcess {
  /** Requests of the engine host itself (health, and generation when no one talks to the socket directly). */
  readonly connection: LlamaServerConnection;
  private stopping = false;

  private constructor(
    readonly child: ChildProcess,
    private readonly folder: string,
    readonly socketPath: string,
    readonly isolation: NativeIsolation,
    parallel: number,
  ) {
    this.connection = new LlamaServerConnection(socketPath, parallel);
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
      // Errors only: no log lines per request (a fully cached prompt warns each time; the supervisor reads every
      // line the engine writes, and serve logs it).
      '--log-verbosity', '1',
      '--log-colors', 'off',
      ...(options.batchSize ? ['--batch-size', String(options.batchSize)] : []),
    ];
    const command = [...prefix, options.binary, ...args];
    const stdio: ('ignore' | 'inherit' | number)[] = ['ignore', 'ignore', 'inherit'];
    if ('fd' in options.model) stdio.push(options.model.fd);
    // A minimal environment: nothing of ours (tokens, proxies) reaches the native process.
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' };
    const child = spawn(command[0], command.slice(1), { stdio, env });
    const server = new LlamaServerProcess(child, folder, socketPath, isolation, options.parallel);
    try {
      await server.waitHealthy(options.timeoutMs ?? 10 * 60_000);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
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
        const reply = await this.connection.call('GET', '/health').catch(() => undefined);
        if (reply?.status === 200) return;
        if (Date.now() > deadline) throw new SovereignError(`the native llama.cpp build (llama-server) did not load the model within ${Math.round(timeoutMs / 1000)} s`, 'a model this large may need more time or memory');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    } finally {
      this.child.off('exit', onExit);
      this.child.off('error', onError);
    }
  }

  /** Calls `onCrash` when the process ends without stop() having been called. */
  onUnexpectedExit(onCrash: (code: number | null, signal: NodeJS.Signals | null) => void): void {
    this.child.once('exit', (code, signal) => {
      if (!this.stopping) onCrash(code, signal);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.connection.close();
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
