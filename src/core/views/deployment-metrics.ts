/**
 * The few numbers the deployments view shows, from a `sovereign serve` /metrics answer (Prometheus text
 * format, src/core/serve/metrics.ts). Pure: the host parses, the tests check.
 */
import type { DriftSummary, MetricsSummary } from '../../../webview/deployments/types';

export type { DriftSummary, MetricsSummary } from '../../../webview/deployments/types';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text exposition format 0.0.4: `name{label="v",...} value [timestamp]`; comments skipped. */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      for (let l = re.exec(m[3]); l; l = re.exec(m[3])) labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    }
    const value = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4]);
    if (!Number.isNaN(value)) out.push({ name: m[1], labels, value });
  }
  return out;
}

/**
 * A quantile from cumulative histogram buckets (as PromQL's histogram_quantile: linear inside the
 * bucket). Buckets of all label sets are summed by `le`. Undefined without observations.
 */
export function histogramQuantile(samples: readonly Sample[], name: string, q: number): number | undefined {
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  const buckets = [...byLe].sort((a, b) => a[0] - b[0]);
  const total = buckets.at(-1)?.[1] ?? 0;
  if (!total) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return prevLe; // beyond the last finite bound: its lower edge is all we know
      return prevLe + (le - prevLe) * ((rank - prevCount) / Math.max(1e-12, count - prevCount));
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

const sum = (samples: readonly Sample[], name: string, where: (l: Record<string, string>) => boolean = () => true): number | undefined => {
  const hits = samples.filter((s) => s.name === name && where(s.labels));
  return hits.length ? hits.reduce((a, s) => a + s.value, 0) : undefined;
};


/** The runtime's sovereign_drift_* gauges; undefined when it exports none. */
export function summarizeDrift(samples: readonly Sample[]): DriftSummary | undefined {
  const psi = samples.filter((s) => s.name === 'sovereign_drift_psi' && s.labels.feature !== undefined);
  if (!psi.length) return undefined;
  const threshold = new Map(samples.filter((s) => s.name === 'sovereign_drift_threshold').map((s) => [s.labels.feature, s.value]));
  return {
    features: psi.map((s) => ({ name: s.labels.feature, psi: s.value, threshold: threshold.get(s.labels.feature) })),
    predictionPsi: sum(samples, 'sovereign_drift_prediction_psi'),
    windowRows: sum(samples, 'sovereign_drift_window_rows'),
  };
}

/** The runtime's sovereign_prompt_drift_* gauges (a language model served with a baseline prompt set); undefined when none. */
export function summarizePromptDrift(samples: readonly Sample[]): DriftSummary | undefined {
  const psi = samples.filter((s) => s.name === 'sovereign_prompt_drift_psi' && s.labels.summary !== undefined);
  const windowPrompts = sum(samples, 'sovereign_prompt_drift_window_prompts');
  if (!psi.length && windowPrompts === undefined) return undefined;
  const threshold = new Map(samples.filter((s) => s.name === 'sovereign_prompt_drift_threshold').map((s) => [s.labels.summary, s.value]));
  return {
    features: psi.map((s) => ({ name: s.labels.summary, psi: s.value, threshold: threshold.get(s.labels.summary) })),
    windowRows: windowPrompts,
  };
}

/** Summary of one scrape; `previous` (requests and time of the last scrape) gives the request rate. */
export function summarizeMetrics(text: string, previous?: { requests?: number; atMs: number }, nowMs = Date.now()): MetricsSummary {
  const s = parsePrometheus(text);
  // Scrapes of /metrics and /health are the view's own traffic: leave them out of the request figures.
  const served = (l: Record<string, string>): boolean => l.route !== '/metrics' && l.route !== '/health';
  const requests = sum(s, 'sovereign_http_requests_total', served);
  const seconds = (v: number | undefined): number | undefined => (v === undefined ? undefined : Math.round(v * 100000) / 100);
  const engineLatency = s.filter((x) => x.name.startsWith('sovereign_http_request_duration_seconds') && served(x.labels));
  const out: MetricsSummary = {
    requests,
    errors: sum(s, 'sovereign_http_errors_total'),
    latencyP50Ms: seconds(histogramQuantile(engineLatency, 'sovereign_http_request_duration_seconds', 0.5)),
    latencyP95Ms: seconds(histogramQuantile(engineLatency, 'sovereign_http_request_duration_seconds', 0.95)),
    ttftP50Ms: seconds(histogramQuantile(s, 'sovereign_time_to_first_token_seconds', 0.5)),
    tokensPerSecondP50: histogramQuantile(s, 'sovereign_generation_tokens_per_second', 0.5),
    generatedTokens: sum(s, 'sovereign_generated_tokens_total'),
    inFlight: sum(s, 'sovereign_requests_in_flight'),
    queueDepth: sum(s, 'sovereign_queue_depth'),
    rssBytes: sum(s, 'sovereign_engine_resident_memory_bytes'),
    modelLoadSeconds: sum(s, 'sovereign_model_load_seconds'),
    engineRestarts: sum(s, 'sovereign_engine_restarts_total'),
  };
  const drift = summarizeDrift(s);
  if (drift) out.drift = drift;
  const promptDrift = summarizePromptDrift(s);
  if (promptDrift) out.promptDrift = promptDrift;
  if (previous?.requests !== undefined && requests !== undefined && nowMs > previous.atMs) {
    out.requestsPerSecond = Math.max(0, (requests - previous.requests) / ((nowMs - previous.atMs) / 1000));
  }
  return out;
}
