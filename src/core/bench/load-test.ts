/**
 * N concurrent clients sending requests back to back for a duration: latency percentiles, error rate,
 * throughput. Against `sovereign serve` or any OpenAI-compatible server.
 */
import { latencySummary, type LatencySummary } from './stats';
import { openTarget, postTimed } from './http';

export interface LoadTestOptions {
  url: string;
  token?: string;
  clients: number;
  durationMs: number;
  /** Route and body of each request (default: a short /v1/completions). */
  path?: string;
  body?: (client: number, i: number) => unknown;
  /** Sampled during the run (e.g. the engine's RSS). */
  sampleMemory?: () => Promise<number | undefined>;
  onProgress?: (elapsedMs: number, requests: number) => void;
}

export interface LoadTestResult {
  clients: number;
  durationS: number;
  requests: number;
  errors: number;
  errorRate: number;
  requestsPerSecond: number;
  completionTokensPerSecond: number;
  latencyMs: LatencySummary;
  statusCounts: Record<string, number>;
  memoryBytes?: { start: number; end: number; max: number };
}

export async function runLoadTest(options: LoadTestOptions): Promise<LoadTestResult> {
  const target = await openTarget(options.url, options.token, options.clients);
  const path = options.path ?? '/v1/completions';
  const body = options.body ?? ((c: number) => ({ prompt: `Request from client ${c}:`, max_tokens: 16, temperature: 0 }));
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  let errors = 0;
  let tokens = 0;
  const memory: number[] = [];
  const sample = async (): Promise<void> => {
    const v = await options.sampleMemory?.();
    if (v !== undefined) memory.push(v);
  };
  await sample();
  const started = performance.now();
  const deadline = started + options.durationMs;
  const sampler = setInterval(() => {
    void sample();
    options.onProgress?.(performance.now() - started, latencies.length + errors);
  }, 500);
  try {
    await Promise.all(Array.from({ length: options.clients }, async (_, client) => {
      for (let i = 0; performance.now() < deadline; i++) {
        try {
          const r = await postTimed(target, path, body(client, i));
          statusCounts[r.status] = (statusCounts[r.status] ?? 0) + 1;
          if (r.status === 200) {
            latencies.push(r.totalMs);
            tokens += r.usage?.completion_tokens ?? 0;
          } else {
            errors++;
          }
        } catch {
          errors++;
          statusCounts.network = (statusCounts.network ?? 0) + 1;
        }
      }
    }));
  } finally {
    clearInterval(sampler);
    target.close();
  }
  await sample();
  const seconds = (performance.now() - started) / 1000;
  const requests = latencies.length + errors;
  return {
    clients: options.clients,
    durationS: seconds,
    requests,
    errors,
    errorRate: requests ? errors / requests : 0,
    requestsPerSecond: requests / seconds,
    completionTokensPerSecond: tokens / seconds,
    latencyMs: latencySummary(latencies),
    statusCounts,
    memoryBytes: memory.length ? { start: memory[0], end: memory[memory.length - 1], max: Math.max(...memory) } : undefined,
  };
}
