/**
 * The serving runtime under hostile load (issue 13): 32 good clients against the tiny model, first alone,
 * then with slow and malformed clients mixed in (slowloris headers, stalled bodies, garbage bytes, a wrong
 * content type, an oversized Content-Length, a foreign Host; 4 loops of each). Reported: the good clients'
 * errors (goal 0) and latency in both phases, what each hostile kind got back and how fast the server closed
 * it, and the memory of the serving process. SOVEREIGN_BENCH_ABUSE_SECONDS (default 20 per phase; else
 * SOVEREIGN_BENCH_LOAD_SECONDS) shortens it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoadTest, type LoadTestResult } from '../src/core/bench/load-test';
import { sha256File } from '../src/core/hash/sha256';
import { EngineSupervisor } from '../src/core/engines/supervisor';
import { ServeRuntime } from '../src/core/serve/server';
import { runAbuseLoad } from '../test/core/serve/abuse-load';
import { writeTinyLlama } from '../test/fixtures/gguf/tiny-llama';
import { round, runIfMain } from './util';

const LIMITS = { headersTimeoutMs: 2000, requestTimeoutMs: 5000, idleTimeoutMs: 2000 };

function phaseSeconds(): number {
  for (const v of [process.env.SOVEREIGN_BENCH_ABUSE_SECONDS, process.env.SOVEREIGN_BENCH_LOAD_SECONDS]) {
    const s = Number(v);
    if (Number.isFinite(s) && s > 0) return s;
  }
  return 20;
}

function summary(r: LoadTestResult): Record<string, unknown> {
  return {
    requests: r.requests,
    errors: r.errors,
    errorRate: r.errorRate,
    requestsPerSecond: round(r.requestsPerSecond, 1),
    latencyMs: { p50: round(r.latencyMs.p50, 1), p95: round(r.latencyMs.p95, 1), p99: round(r.latencyMs.p99, 1) },
    statusCounts: r.statusCounts,
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'sovereign-abuse-bench-'));
  const engine = new EngineSupervisor({ healthIntervalMs: 0 });
  let runtime: ServeRuntime | undefined;
  try {
    const tiny = await writeTinyLlama(join(dir, 'tiny.gguf'));
    await engine.start({ path: tiny.path, kind: 'gguf', sha256: await sha256File(tiny.path), options: { threads: 1, sequences: 2, contextSize: 256 } });
    runtime = new ServeRuntime(engine, { port: 0, parallel: 2, queue: 64, ...LIMITS });
    const { url } = await runtime.listen();
    const seconds = phaseSeconds();
    const mib = (b: number): number => round(b / 2 ** 20, 1);
    const clean = await runLoadTest({ url, clients: 32, durationMs: seconds * 1000, body: (c) => ({ prompt: `Hello ${c}`, max_tokens: 16, temperature: 0 }) });
    const rssBefore = process.memoryUsage().rss;
    let rssMax = rssBefore;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 250);
    const abused = await runAbuseLoad({ url, goodClients: 32, perKind: 4, durationMs: seconds * 1000, sampleMemory: () => engine.rssBytes() });
    clearInterval(sampler);
    await new Promise((r) => setTimeout(r, 1000));
    return {
      goodClients: 32,
      hostileLoopsPerKind: 4,
      phaseSeconds: seconds,
      limits: { ...LIMITS, parallel: 2, queue: 64, maxConnections: 256 },
      alone: summary(clean),
      withHostileClients: summary(abused.good),
      goalGoodErrors: 0,
      p50Ratio: clean.latencyMs.p50 > 0 ? round(abused.good.latencyMs.p50 / clean.latencyMs.p50, 2) : null,
      hostile: abused.abusers,
      // The bench process is the serving process (the engine is its child): its RSS includes the hostile clients' own buffers.
      servingProcessRssMiB: { before: mib(rssBefore), max: mib(rssMax), after: mib(process.memoryUsage().rss) },
      engineRssMiB: abused.good.memoryBytes && { start: mib(abused.good.memoryBytes.start), end: mib(abused.good.memoryBytes.end), max: mib(abused.good.memoryBytes.max) },
    };
  } finally {
    await runtime?.close();
    await engine.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

runIfMain(module, run);
