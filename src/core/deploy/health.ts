import { SovereignError } from '../util/errors';
import type { Docker } from './engine';
import { deployFetch } from './http';
import { lastLogLines } from './logs';

export interface ReadyResult {
  /** From the first probe to the first 200 on /health. */
  ms: number;
  /** The /health body, when JSON (the runtime reports e.g. its model load time there). */
  body: unknown;
}

/**
 * HTTP-level readiness: GET /health until it answers 200. A TCP connect is not enough (docker-proxy and
 * the gateway accept connections before the runtime listens). Fails fast when the container exits, and
 * on timeout, with the container's last log lines in the error.
 */
export async function waitReady(
  docker: Docker,
  options: { url: string; container: string; timeoutMs?: number; root?: string; signal?: AbortSignal },
): Promise<ReadyResult> {
  const started = performance.now();
  const deadline = started + (options.timeoutMs ?? 60_000);
  let lastProblem = 'no answer yet';
  for (let attempt = 0; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      const res = await deployFetch(`${options.url}/health`, {}, { root: options.root, timeoutMs: 2_000, signal: options.signal });
      const text = await res.text();
      if (res.status === 200) {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // plain-text health answer: keep the text.
        }
        return { ms: performance.now() - started, body };
      }
      lastProblem = `HTTP ${res.status}`;
    } catch (err) {
      if (err instanceof SovereignError) throw err; // refused by the egress guard: retrying will not help
      lastProblem = (err as Error).message;
    }
    if (attempt % 5 === 4) {
      const state = await containerState(docker, options.container);
      if (state && !state.Running) {
        throw await notReady(docker, options.container, `the container exited (code ${state.ExitCode}) before it became ready`);
      }
    }
    if (performance.now() > deadline) {
      throw await notReady(docker, options.container, `not ready after ${Math.round((options.timeoutMs ?? 60_000) / 1000)} s (${lastProblem})`);
    }
    await new Promise((r) => setTimeout(r, attempt < 20 ? 50 : 200));
  }
}

async function containerState(docker: Docker, container: string): Promise<{ Running: boolean; ExitCode: number } | undefined> {
  try {
    return ((await docker.getContainer(container).inspect()) as { State: { Running: boolean; ExitCode: number } }).State;
  } catch {
    return undefined;
  }
}

async function notReady(docker: Docker, container: string, why: string): Promise<SovereignError> {
  const lines = await lastLogLines(docker, container, 15);
  return new SovereignError(
    `${container}: ${why}\n  last log lines:\n${lines.length ? lines.map((l) => `    ${l}`).join('\n') : '    (none)'}`,
    'fix what the log says (model file, memory limit --memory, base image); `sovereign deploy logs NAME` shows more',
  );
}
