/** Stored benchmark runs -> chart series and CSV. Pure: runs in the webview and in the tests. */
import type { BenchmarkRun, MeanStd } from './contract';

export interface Series {
  label: string;
  values: (number | null)[];
  /** One standard deviation per value (drawn as error bars), when the metric has one. */
  errors?: (number | null)[];
}

export interface ChartSpec {
  id: 'throughput' | 'ttft' | 'latency' | 'load';
  title: string;
  unit: string;
  /** One category per run (or per version). */
  labels: string[];
  series: Series[];
}

/** "NAME@VERSION · 2025-01-31 14:05" (UTC, to the minute): short enough for an axis. */
export function runLabel(run: BenchmarkRun): string {
  const when = run.createdAt ? run.createdAt.slice(0, 16).replace('T', ' ') : run.id.split('/').pop();
  return `${run.model}@${run.version} · ${when}`;
}

/** The newest run of each model version, so versions are compared with one figure each. */
export function latestPerVersion(runs: readonly BenchmarkRun[]): BenchmarkRun[] {
  const latest = new Map<string, BenchmarkRun>();
  for (const r of runs) {
    const key = `${r.model}@${r.version}`;
    const prev = latest.get(key);
    if (!prev || prev.createdAt < r.createdAt) latest.set(key, r);
  }
  return [...latest.values()].sort((a, b) => (a.model !== b.model ? (a.model < b.model ? -1 : 1) : a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const mean = (m: MeanStd | undefined): number | null => num(m?.mean);
const std = (m: MeanStd | undefined): number | null => num(m?.stddev);

/** The four charts of the view; a chart whose every value is missing is left out. */
export function chartSpecs(runs: readonly BenchmarkRun[], labelOf: (run: BenchmarkRun) => string = runLabel): ChartSpec[] {
  const labels = runs.map(labelOf);
  const r = runs.map((x) => x.report.results ?? {});
  const latencyOf = (i: number): { p50?: number; p95?: number; p99?: number } | undefined => r[i].load?.latencyMs ?? r[i].predict?.latencyMs;
  const specs: ChartSpec[] = [
    {
      id: 'throughput',
      title: 'Throughput: prompt processing (pp) and generation (tg)',
      unit: 'tokens/s',
      labels,
      series: [
        { label: 'pp tokens/s', values: r.map((x) => mean(x.pp?.tokensPerSecond)), errors: r.map((x) => std(x.pp?.tokensPerSecond)) },
        { label: 'tg tokens/s', values: r.map((x) => mean(x.tg?.tokensPerSecond)), errors: r.map((x) => std(x.tg?.tokensPerSecond)) },
      ],
    },
    { id: 'ttft', title: 'Time to first token', unit: 'ms', labels, series: [{ label: 'TTFT ms', values: r.map((x) => mean(x.ttftMs)), errors: r.map((x) => std(x.ttftMs)) }] },
    {
      id: 'latency',
      title: 'Request latency percentiles (load test, or ONNX predictions)',
      unit: 'ms',
      labels,
      series: (['p50', 'p95', 'p99'] as const).map((p) => ({ label: `${p} ms`, values: runs.map((_, i) => num(latencyOf(i)?.[p])) })),
    },
    {
      id: 'load',
      title: 'Load time',
      unit: 'ms',
      labels,
      series: [
        { label: 'cold load ms (validate + start + load)', values: r.map((x) => num(x.coldLoadMs)) },
        { label: 'model load ms (native)', values: r.map((x) => num(x.modelLoadMs)) },
      ],
    },
  ];
  return specs
    .map((s) => ({ ...s, series: s.series.filter((x) => x.values.some((v) => v !== null)) }))
    .filter((s) => s.series.length > 0);
}

/** Machine facts that make runs comparable (or not), one line per run. */
export function machineLine(run: BenchmarkRun): string {
  const m = run.report.machine ?? {};
  const e = run.report.engine ?? {};
  const gib = m.memoryBytes ? `${Math.round(m.memoryBytes / 2 ** 30)} GiB` : undefined;
  const gpus = m.gpus?.length ? m.gpus.map((g) => g.name ?? 'GPU').join(', ') : 'no GPU';
  return [m.cpuModel, m.physicalCores !== undefined ? `${m.physicalCores} cores` : undefined, gib, gpus, e.threads !== undefined ? `${e.threads} threads` : undefined, m.os && m.arch ? `${m.os}-${m.arch}` : undefined, m.node ? `node ${m.node}` : undefined]
    .filter(Boolean)
    .join(' · ');
}

export const CSV_COLUMNS = [
  'model', 'version', 'created_at', 'file', 'target', 'format', 'cpu', 'physical_cores', 'threads',
  'pp_tokens', 'pp_tps_mean', 'pp_tps_stddev', 'tg_tokens', 'tg_tps_mean', 'tg_tps_stddev', 'ttft_ms_mean', 'ttft_ms_stddev',
  'cold_load_ms', 'model_load_ms', 'latency_p50_ms', 'latency_p95_ms', 'latency_p99_ms', 'requests_per_s', 'error_rate', 'engine_rss_bytes',
] as const;

/** RFC 4180: quote fields with commas, quotes or line breaks; a leading = + - @ is defused for spreadsheets. */
export function csvField(value: unknown): string {
  if (value === undefined || value === null) return '';
  let text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(runs: readonly BenchmarkRun[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const run of runs) {
    const r = run.report.results ?? {};
    const latency = r.load?.latencyMs ?? r.predict?.latencyMs;
    const row: unknown[] = [
      run.model, run.version, run.createdAt, run.id, run.report.target?.name, run.report.target?.format, run.report.machine?.cpuModel, run.report.machine?.physicalCores, run.report.engine?.threads,
      r.pp?.tokens, r.pp?.tokensPerSecond.mean, r.pp?.tokensPerSecond.stddev, r.tg?.tokens, r.tg?.tokensPerSecond.mean, r.tg?.tokensPerSecond.stddev, r.ttftMs?.mean, r.ttftMs?.stddev,
      r.coldLoadMs, r.modelLoadMs, latency?.p50, latency?.p95, latency?.p99, r.load?.requestsPerSecond, r.load?.errorRate, r.engineRssBytes,
    ];
    lines.push(row.map(csvField).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

/** A file name from the selection: benchmarks-NAME-VERSION or benchmarks-N-runs. */
export function exportName(runs: readonly BenchmarkRun[], what: string, ext: string): string {
  const models = [...new Set(runs.map((r) => `${r.model}-${r.version}`))];
  const base = models.length === 1 ? models[0] : `${runs.length}-runs`;
  return `benchmarks-${what}-${base}`.replace(/[^A-Za-z0-9._-]+/g, '-') + `.${ext}`;
}
