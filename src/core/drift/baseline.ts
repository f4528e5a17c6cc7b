/**
 * The validation baseline (what `sovereign eval` stores per model version) and the comparison of live data
 * with it. Pure functions: the callers read CSV files, run models and write JSON.
 */
import { binCounts, chiSquareHomogeneity, ksTwoSample, psi, quantileEdges, quantileSample, type TestResult } from './stats';

export const BASELINE_SCHEMA = 'sovereign.drift-baseline/v1';
export const DRIFT_SCHEMA = 'sovereign.drift/v1';
/** The category every value absent from the baseline falls into. */
export const UNSEEN = '__unseen__';

export interface NumericBaseline {
  name: string;
  kind: 'numeric';
  rows: number;
  /** Interior quantile cut points; bin i holds edges[i-1] < x <= edges[i]. */
  edges: number[];
  /** Validation rows per bin (edges.length + 1 bins). */
  counts: number[];
  /** Up to `sampleSize` order statistics standing for the validation distribution (for the KS test). */
  sample: number[];
  mean: number;
  std: number;
  min: number;
  max: number;
}

export interface CategoricalBaseline {
  name: string;
  kind: 'categorical';
  rows: number;
  /** Validation rows per category (the value as text). */
  counts: Record<string, number>;
}

export type FeatureBaseline = NumericBaseline | CategoricalBaseline;

export interface DriftBaseline {
  schema: typeof BASELINE_SCHEMA;
  createdAt: string;
  model?: { name?: string; version?: string; sha256?: string };
  data: { path: string; rows: number; label?: string };
  settings: { bins: number; sampleSize: number; maxCategories: number };
  features: FeatureBaseline[];
  /** The model's predicted classes on the validation set (`output`: the model output they come from). */
  prediction: CategoricalBaseline & { output?: string };
  /** The true labels of the validation set. */
  label?: CategoricalBaseline;
}

export interface BaselineOptions {
  /** Equal-frequency bins per numeric feature (default 10). */
  bins?: number;
  /** Order statistics kept per numeric feature for KS (default 1000). */
  sampleSize?: number;
  /** An integer-valued feature with at most this many distinct values is categorical (default 10). */
  maxCategories?: number;
  /** Features to treat as categorical whatever their values. */
  categorical?: string[];
}

export interface Column {
  name: string;
  values: readonly number[];
}

/** Builds the baseline from the validation features (one column per feature), predictions and labels. */
export function buildBaseline(
  columns: readonly Column[],
  predictions: readonly string[],
  labels: readonly string[] | undefined,
  meta: { createdAt: string; model?: DriftBaseline['model']; data: DriftBaseline['data']; output?: string },
  options: BaselineOptions = {},
): DriftBaseline {
  const settings = { bins: options.bins ?? 10, sampleSize: options.sampleSize ?? 1000, maxCategories: options.maxCategories ?? 10 };
  const forced = new Set(options.categorical ?? []);
  const features = columns.map((c): FeatureBaseline => {
    if (forced.has(c.name) || isCategorical(c.values, settings.maxCategories)) return categorical(c.name, c.values.map(categoryOf));
    const edges = quantileEdges(c.values, settings.bins);
    const n = c.values.length;
    const mean = n ? c.values.reduce((s, v) => s + v, 0) / n : 0;
    const variance = n > 1 ? c.values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1) : 0;
    return {
      name: c.name,
      kind: 'numeric',
      rows: n,
      edges,
      counts: binCounts(c.values, edges),
      sample: quantileSample(c.values, settings.sampleSize),
      mean,
      std: Math.sqrt(variance),
      min: n ? Math.min(...c.values) : 0,
      max: n ? Math.max(...c.values) : 0,
    };
  });
  return {
    schema: BASELINE_SCHEMA,
    createdAt: meta.createdAt,
    ...(meta.model ? { model: meta.model } : {}),
    data: meta.data,
    settings,
    features,
    prediction: { ...categorical('prediction', predictions), ...(meta.output ? { output: meta.output } : {}) },
    ...(labels && labels.length ? { label: categorical('label', labels) } : {}),
  };
}

/** A numeric value's category text: integers without a decimal point, others as JavaScript prints them. */
export function categoryOf(v: number): string {
  return String(v);
}

function isCategorical(values: readonly number[], maxCategories: number): boolean {
  const distinct = new Set<number>();
  for (const v of values) {
    if (!Number.isInteger(v)) return false;
    distinct.add(v);
    if (distinct.size > maxCategories) return false;
  }
  return true;
}

function categorical(name: string, values: readonly string[]): CategoricalBaseline {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return { name, kind: 'categorical', rows: values.length, counts: sortedRecord(counts) };
}

function sortedRecord(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (Number.isFinite(Number(a)) && Number.isFinite(Number(b)) ? Number(a) - Number(b) : a.localeCompare(b))));
}

/** Thresholds from the `drift:` section of .sovereign/policy.yaml (docs/drift.md). */
export interface DriftThresholds {
  /** A feature drifted when its PSI exceeds this (default 0.2). */
  psi: number;
  /** Also drifted when the KS p-value (numeric) is below this; off unless set. */
  ks_p_value?: number;
  /** Also drifted when the chi-square p-value (categorical) is below this; off unless set. */
  chi2_p_value?: number;
  /** Per-feature PSI thresholds. */
  features?: Record<string, { psi?: number }>;
  /** PSI threshold of the prediction distribution (default: `psi`). */
  prediction_psi?: number;
}

export const DEFAULT_THRESHOLDS: DriftThresholds = { psi: 0.2 };

export interface FeatureDrift {
  name: string;
  kind: 'numeric' | 'categorical';
  psi: number;
  drifted: boolean;
  /** The PSI threshold applied to this feature. */
  threshold: number;
  /** Why it drifted (empty when it did not). */
  reasons: string[];
  /** Numeric: two-sample KS of the live values against the stored baseline sample. */
  ks?: TestResult;
  /** Categorical: chi-square homogeneity of the live and baseline counts. */
  chi2?: TestResult & { dof: number };
  baseline: { rows: number; mean?: number; proportions?: Record<string, number> };
  live: { rows: number; mean?: number; proportions?: Record<string, number> };
  /** Categorical: live values the baseline never saw, with their counts. */
  unseen?: Record<string, number>;
}

export interface DriftReport {
  schema: typeof DRIFT_SCHEMA;
  createdAt: string;
  model?: DriftBaseline['model'];
  baseline: { createdAt: string; rows: number; data: string };
  live: { source: string; rows: number };
  thresholds: DriftThresholds;
  /** true when any feature or the prediction distribution drifted. */
  drifted: boolean;
  /** Why nothing is judged yet (a live window with too few rows). */
  note?: string;
  features: FeatureDrift[];
  prediction?: FeatureDrift;
  label?: FeatureDrift;
}

/** Live data to compare: raw values per feature (by name), and optionally predictions and labels. */
export interface LiveData {
  source: string;
  columns: ReadonlyMap<string, readonly number[]>;
  predictions?: readonly string[];
  labels?: readonly string[];
}

export function compareWithBaseline(baseline: DriftBaseline, live: LiveData, thresholds: DriftThresholds = DEFAULT_THRESHOLDS, createdAt = new Date().toISOString()): DriftReport {
  const features = baseline.features.map((f) => {
    const values = live.columns.get(f.name);
    if (!values) throw new RangeError(`the live data has no "${f.name}" feature`);
    const threshold = thresholds.features?.[f.name]?.psi ?? thresholds.psi;
    return f.kind === 'numeric' ? compareNumeric(f, values, threshold, thresholds) : compareCategorical(f, values.map(categoryOf), threshold, thresholds);
  });
  const prediction = live.predictions?.length ? compareCategorical(baseline.prediction, live.predictions, thresholds.prediction_psi ?? thresholds.psi, thresholds) : undefined;
  const label = live.labels?.length && baseline.label ? compareCategorical(baseline.label, live.labels, thresholds.psi, thresholds) : undefined;
  const rows = live.columns.values().next().value?.length ?? 0;
  return {
    schema: DRIFT_SCHEMA,
    createdAt,
    ...(baseline.model ? { model: baseline.model } : {}),
    baseline: { createdAt: baseline.createdAt, rows: baseline.data.rows, data: baseline.data.path },
    live: { source: live.source, rows },
    thresholds,
    drifted: features.some((f) => f.drifted) || Boolean(prediction?.drifted),
    features,
    ...(prediction ? { prediction } : {}),
    ...(label ? { label } : {}),
  };
}

export function compareNumeric(f: NumericBaseline, values: readonly number[], threshold: number, thresholds: DriftThresholds = DEFAULT_THRESHOLDS): FeatureDrift {
  const liveCounts = binCounts(values, f.edges);
  const value = psi(f.counts, liveCounts);
  const ks = ksTwoSample(f.sample, values);
  const reasons: string[] = [];
  if (value > threshold) reasons.push(`PSI ${value.toFixed(3)} > ${threshold}`);
  if (thresholds.ks_p_value !== undefined && ks.pValue < thresholds.ks_p_value) reasons.push(`KS p ${ks.pValue.toExponential(2)} < ${thresholds.ks_p_value}`);
  const mean = values.length ? values.reduce((s, v) => s + v, 0) / values.length : 0;
  return { name: f.name, kind: 'numeric', psi: value, drifted: reasons.length > 0, threshold, reasons, ks, baseline: { rows: f.rows, mean: f.mean }, live: { rows: values.length, mean } };
}

/** Compares live categories (texts) with the baseline's counts; values the baseline never saw go to the UNSEEN bucket. */
export function compareCategorical(f: CategoricalBaseline, values: readonly string[], threshold: number, thresholds: DriftThresholds = DEFAULT_THRESHOLDS): FeatureDrift {
  const liveCounts = countCategories(values);
  return compareCategoryCounts(f, liveCounts, threshold, thresholds);
}

/** Live counts over the baseline's categories; unknown values are counted under UNSEEN. */
export function countCategories(values: Iterable<string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

export function compareCategoryCounts(f: CategoricalBaseline, liveCounts: Record<string, number>, threshold: number, thresholds: DriftThresholds = DEFAULT_THRESHOLDS): FeatureDrift {
  const categories = Object.keys(f.counts);
  const unseen: Record<string, number> = {};
  let unseenTotal = 0;
  for (const [k, c] of Object.entries(liveCounts)) {
    if (!(k in f.counts)) {
      unseen[k] = c;
      unseenTotal += c;
    }
  }
  const expected = [...categories.map((k) => f.counts[k]), 0];
  const actual = [...categories.map((k) => liveCounts[k] ?? 0), unseenTotal];
  const value = psi(expected, actual);
  const chi2 = chiSquareHomogeneity(expected, actual);
  const reasons: string[] = [];
  if (value > threshold) reasons.push(`PSI ${value.toFixed(3)} > ${threshold}`);
  if (thresholds.chi2_p_value !== undefined && chi2.pValue < thresholds.chi2_p_value) reasons.push(`chi-square p ${chi2.pValue.toExponential(2)} < ${thresholds.chi2_p_value}`);
  const liveRows = actual.reduce((s, c) => s + c, 0);
  const prop = (counts: number[], total: number, withUnseen: boolean): Record<string, number> => {
    const out: Record<string, number> = {};
    categories.forEach((k, i) => (out[k] = total ? counts[i] / total : 0));
    if (withUnseen && unseenTotal) out[UNSEEN] = total ? unseenTotal / total : 0;
    return out;
  };
  return {
    name: f.name,
    kind: 'categorical',
    psi: value,
    drifted: reasons.length > 0,
    threshold,
    reasons,
    chi2,
    baseline: { rows: f.rows, proportions: prop(expected, f.rows, false) },
    live: { rows: liveRows, proportions: prop(actual, liveRows, true) },
    ...(unseenTotal ? { unseen } : {}),
  };
}
