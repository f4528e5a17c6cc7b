/**
 * Live drift in the serving runtime: the inputs and predictions of the last `window` rows answered by
 * /v1/predict, kept in a fixed ring (bounded memory: window x features numbers, plus window prediction
 * labels), compared on demand with the validation baseline the served version's `sovereign eval` stored.
 * Exposed at GET /v1/drift (a sovereign.drift/v1 report) and in /metrics (sovereign_drift_psi{model,feature}).
 */
import { Gauge, type Registry } from 'prom-client';
import { classLabels } from '../engines/class-labels';
import type { JsonTensor } from '../engines/types';
import { compareWithBaseline, DEFAULT_THRESHOLDS, type DriftBaseline, type DriftReport, type DriftThresholds } from './baseline';

export interface LiveDriftOptions {
  /** Rows kept (default 1000). */
  window?: number;
  /** Below this many rows nothing is judged drifted (default 100). */
  minRows?: number;
  thresholds?: DriftThresholds;
}

export class LiveDriftMonitor {
  readonly window: number;
  readonly minRows: number;
  readonly thresholds: DriftThresholds;
  private readonly width: number;
  private readonly values: Float64Array;
  private readonly predictions: (string | undefined)[];
  private next = 0;
  private filled = 0;
  private cached?: { at: number; report: DriftReport };
  /** Rows seen since start (not only the window). */
  observed = 0;
  /** Requests whose input did not have the baseline's shape (not counted). */
  skipped = 0;

  constructor(
    readonly baseline: DriftBaseline,
    options: LiveDriftOptions = {},
  ) {
    this.window = Math.max(1, Math.floor(options.window ?? 1000));
    this.minRows = Math.max(1, Math.floor(options.minRows ?? 100));
    this.thresholds = options.thresholds ?? DEFAULT_THRESHOLDS;
    this.width = baseline.features.length;
    this.values = new Float64Array(this.window * this.width);
    this.predictions = new Array<string | undefined>(this.window);
  }

  /**
   * Records one answered /v1/predict: the request body (`inputs`: the tensor whose last dimension is the
   * feature count) and the JSON text of the outputs. Malformed shapes are skipped, never thrown.
   */
  observe(body: Record<string, unknown> | undefined, outputJson: string | undefined): void {
    const input = findInput(body?.inputs, this.width);
    if (!input) {
      this.skipped++;
      return;
    }
    const rows = input.data.length / this.width;
    const labels = predictedLabels(outputJson, rows, this.baseline.prediction.output);
    for (let r = 0; r < rows; r++) {
      // float32, as the model and `sovereign eval` read them (so categories match the baseline's exactly)
      this.values.set(input.data.slice(r * this.width, (r + 1) * this.width).map((v) => Math.fround(v)), this.next * this.width);
      this.predictions[this.next] = labels?.[r];
      this.next = (this.next + 1) % this.window;
      this.filled = Math.min(this.window, this.filled + 1);
    }
    this.observed += rows;
    this.cached = undefined;
  }

  /** The comparison of the window with the baseline (cached for a second: /metrics scrapes may be frequent). */
  report(now = Date.now()): DriftReport {
    if (this.cached && now - this.cached.at < 1000) return this.cached.report;
    const columns = new Map<string, number[]>();
    this.baseline.features.forEach((f, j) => {
      const out = new Array<number>(this.filled);
      for (let r = 0; r < this.filled; r++) out[r] = this.values[r * this.width + j];
      columns.set(f.name, out);
    });
    const predictions = this.predictions.slice(0, this.filled).filter((p): p is string => p !== undefined);
    const report = compareWithBaseline(this.baseline, { source: `live window (last ${this.filled} of ${this.observed} rows, window ${this.window})`, columns, predictions }, this.thresholds, new Date(now).toISOString());
    report.live.rows = this.filled;
    if (this.filled < this.minRows) {
      report.drifted = false;
      for (const f of [...report.features, ...(report.prediction ? [report.prediction] : [])]) {
        f.drifted = false;
        f.reasons = [];
      }
      report.note = `${this.filled} rows in the window: drift is judged from ${this.minRows}`;
    }
    this.cached = { at: now, report };
    return report;
  }

  /** Adds sovereign_drift_psi{model,feature}, sovereign_drift_threshold{model,feature}, sovereign_drift_prediction_psi{model} and the window size to a registry. */
  registerMetrics(registry: Registry, model: string): void {
    const report = (): DriftReport => this.report();
    const rows = (): number => this.filled;
    const registers = [registry];
    new Gauge({
      name: 'sovereign_drift_psi',
      help: 'Population Stability Index of each input feature: the live window against the validation baseline',
      labelNames: ['model', 'feature'],
      registers,
      collect() {
        for (const f of report().features) this.set({ model, feature: f.name }, f.psi);
      },
    });
    new Gauge({
      name: 'sovereign_drift_prediction_psi',
      help: 'PSI of the predicted classes: the live window against the validation set (the prediction shift)',
      labelNames: ['model'],
      registers,
      collect() {
        const p = report().prediction;
        if (p) this.set({ model }, p.psi);
      },
    });
    new Gauge({
      name: 'sovereign_drift_threshold',
      help: 'PSI threshold of each input feature (the policy drift: section; default 0.2)',
      labelNames: ['model', 'feature'],
      registers,
      collect() {
        for (const f of report().features) this.set({ model, feature: f.name }, f.threshold);
      },
    });
    new Gauge({
      name: 'sovereign_drift_features_drifted',
      help: 'Input features past their drift threshold in the live window',
      labelNames: ['model'],
      registers,
      collect() {
        this.set({ model }, report().features.filter((f) => f.drifted).length);
      },
    });
    new Gauge({
      name: 'sovereign_drift_window_rows',
      help: 'Rows in the live drift window',
      labelNames: ['model'],
      registers,
      collect() {
        this.set({ model }, rows());
      },
    });
  }
}

function findInput(inputs: unknown, width: number): JsonTensor | undefined {
  if (typeof inputs !== 'object' || inputs === null) return undefined;
  for (const t of Object.values(inputs as Record<string, unknown>)) {
    const tensor = t as Partial<JsonTensor> | null;
    if (!tensor || !Array.isArray(tensor.data) || !Array.isArray(tensor.dims)) continue;
    if (tensor.dims.at(-1) !== width || tensor.data.length % width !== 0 || tensor.data.length === 0) continue;
    if (!tensor.data.every((v) => typeof v === 'number' && Number.isFinite(v))) continue;
    return tensor as JsonTensor;
  }
  return undefined;
}

/** The predicted class per row, the way `sovereign eval` reads it: integer labels as they are, scores by argmax (or 0.5). */
export function predictedLabels(outputJson: string | undefined, rows: number, preferred?: string): string[] | undefined {
  if (!outputJson) return undefined;
  let outputs: Record<string, JsonTensor>;
  try {
    outputs = JSON.parse(outputJson) as Record<string, JsonTensor>;
  } catch {
    return undefined;
  }
  const entries = Object.entries(outputs ?? {});
  const chosen = (preferred ? outputs[preferred] : undefined) ?? entries.find(([, t]) => t?.type?.startsWith('int'))?.[1] ?? entries[0]?.[1];
  if (!chosen || !Array.isArray(chosen.data)) return undefined;
  return classLabels(chosen, rows);
}
