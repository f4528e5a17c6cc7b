/**
 * Prometheus metrics of one `sovereign serve` (prom-client, a registry of its own so several servers in one
 * process never share counters).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { GenerationResult } from '../engines/types';

export class ServeMetrics {
  readonly registry = new Registry();
  readonly requestDuration: Histogram<'route' | 'status'>;
  readonly requests: Counter<'route' | 'status'>;
  readonly errors: Counter<'route' | 'kind'>;
  readonly queueDepth: Gauge;
  readonly inFlight: Gauge;
  readonly promptTokens: Counter;
  readonly generatedTokens: Counter;
  readonly tokensPerSecond: Histogram;
  readonly timeToFirstToken: Histogram;
  readonly modelLoadSeconds: Gauge;
  readonly engineRestarts: Counter;
  readonly cancelled: Counter<'route'>;

  constructor(engineRss: () => Promise<number | undefined>) {
    const registers = [this.registry];
    this.requestDuration = new Histogram({
      name: 'sovereign_http_request_duration_seconds',
      help: 'HTTP request latency, from the request to the last byte of the answer',
      labelNames: ['route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.requests = new Counter({ name: 'sovereign_http_requests_total', help: 'HTTP requests answered', labelNames: ['route', 'status'], registers });
    this.errors = new Counter({ name: 'sovereign_http_errors_total', help: 'Requests that failed, by kind (client, overload, engine)', labelNames: ['route', 'kind'], registers });
    this.queueDepth = new Gauge({ name: 'sovereign_queue_depth', help: 'Requests waiting for an engine slot', registers });
    this.inFlight = new Gauge({ name: 'sovereign_requests_in_flight', help: 'Requests running on the engine', registers });
    this.promptTokens = new Counter({ name: 'sovereign_prompt_tokens_total', help: 'Prompt tokens processed', registers });
    this.generatedTokens = new Counter({ name: 'sovereign_generated_tokens_total', help: 'Tokens generated', registers });
    this.tokensPerSecond = new Histogram({
      name: 'sovereign_generation_tokens_per_second',
      help: 'Generation speed per request (tokens after the first / time after the first)',
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
      registers,
    });
    this.timeToFirstToken = new Histogram({
      name: 'sovereign_time_to_first_token_seconds',
      help: 'Time from the engine receiving a request to its first generated token',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.modelLoadSeconds = new Gauge({ name: 'sovereign_model_load_seconds', help: 'How long the model took to load in the engine process', registers });
    this.engineRestarts = new Counter({ name: 'sovereign_engine_restarts_total', help: 'Engine process restarts after a crash', registers });
    this.cancelled = new Counter({ name: 'sovereign_cancelled_requests_total', help: 'Generations stopped because the client went away', labelNames: ['route'], registers });
    new Gauge({
      name: 'sovereign_engine_resident_memory_bytes',
      help: 'Resident memory of the engine process',
      registers,
      async collect() {
        const rss = await engineRss();
        if (rss !== undefined) this.set(rss);
      },
    });
  }

  recordGeneration(result: GenerationResult): void {
    this.promptTokens.inc(result.promptTokens);
    this.generatedTokens.inc(result.generatedTokens);
    if (result.generatedTokens > 0) this.timeToFirstToken.observe(result.ttftMs / 1000);
    if (result.generatedTokens > 1 && result.generateMs > 0) this.tokensPerSecond.observe((result.generatedTokens - 1) / (result.generateMs / 1000));
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
