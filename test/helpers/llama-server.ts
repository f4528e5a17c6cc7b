import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from './cli';

/**
 * llama.cpp's own `llama-server`, built from the source node-llama-cpp ships (scripts/llama-server/build.sh),
 * as a real peer for the completion backends' tests and the completion benchmark.
 *
 * Found through SOVEREIGN_LLAMA_SERVER, else at the build script's cache path. In CI (`CI` set) a missing
 * binary is an error (.ci/run builds it before the tests); elsewhere the suites that need it skip, saying how
 * to build it.
 */
export function llamaServerBinary(): string | undefined {
  const fromEnv = process.env.SOVEREIGN_LLAMA_SERVER;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`SOVEREIGN_LLAMA_SERVER=${fromEnv} does not exist`);
    return fromEnv;
  }
  const printed = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'llama-server', 'build.sh'), '--print'], { encoding: 'utf8' });
  const path = printed.status === 0 ? printed.stdout.trim() : '';
  return path && existsSync(path) ? path : undefined;
}

export const LLAMA_SERVER_MISSING =
  'llama-server is not built: run scripts/llama-server/build.sh (about 10 minutes on 2 cores, offline) or set SOVEREIGN_LLAMA_SERVER';

/** The binary, or: in CI an error, elsewhere a skip of the calling suite with a line on stderr saying why. */
export function requireLlamaServer(ctx: Mocha.Context): string {
  const bin = llamaServerBinary();
  if (bin) return bin;
  if (process.env.CI) throw new Error(`${LLAMA_SERVER_MISSING} (CI must build it: .ci/run)`);
  process.stderr.write(`      skipped: ${LLAMA_SERVER_MISSING}\n`);
  ctx.skip();
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RunningLlamaServer {
  url: string;
  child: ChildProcess;
  log: () => string;
  stop: () => Promise<void>;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
  });
}

/** Starts llama-server on 127.0.0.1 for `model` and waits for /health. */
export async function startLlamaServer(bin: string, model: string, options: { threads?: number; ctx?: number; extraArgs?: string[]; timeoutMs?: number } = {}): Promise<RunningLlamaServer> {
  const port = await freePort();
  const args = ['-m', model, '--host', '127.0.0.1', '--port', String(port), '-t', String(options.threads ?? 1), '-tb', String(options.threads ?? 1), '-c', String(options.ctx ?? 2048), '-np', '1', '--no-webui', ...(options.extraArgs ?? [])];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = (): Promise<void> => stopChild(child, 3000);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`llama-server exited ${child.exitCode}:\n${log}`);
    try {
      const r = await fetch(`${url}/health`);
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`llama-server did not become healthy in time:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, child, log: () => log, stop };
}

/** The builds folder holding the CI's llama-server as a native build (`<builds>/<commit>/bin/llama-server`). */
export function nativeBuildsOf(bin: string): string {
  return dirname(dirname(dirname(bin)));
}

/** `sovereign serve` (dist/cli.js, or `cli`) on a free port, 1 thread, ctx 2048; resolves once the model is loaded. */
export async function startSovereignServe(model: string, options: { cli?: string; threads?: number; extraArgs?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<{ url: string; stop: () => Promise<void> }> {
  const cli = options.cli ?? join(REPO_ROOT, 'dist', 'cli.js');
  const args = [cli, 'serve', '-m', model, '--port', '0', '--threads', String(options.threads ?? 1), '--ctx', '2048', '--no-gpu', ...(options.extraArgs ?? [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-10_000)));
  const stop = (): Promise<void> => stopChild(child, 5000);
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (l) => {
      try {
        resolve((JSON.parse(l) as { url: string }).url);
      } catch {
        reject(new Error(`sovereign serve printed ${l}`));
      }
    });
    child.once('exit', (code) => reject(new Error(`sovereign serve exited ${code}: ${log}`)));
  });
  return { url, stop };
}
