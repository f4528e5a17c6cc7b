/** Classification metrics: accuracy, error rate, confusion matrix, per-class precision/recall/F1. */

export interface ClassMetrics {
  label: string;
  support: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface ClassificationReport {
  rows: number;
  accuracy: number;
  errorRate: number;
  /** Class labels in matrix order (sorted). */
  labels: string[];
  /** confusion[actual][predicted] counts, in `labels` order. */
  confusion: number[][];
  perClass: ClassMetrics[];
  macroF1: number;
}

export function classificationReport(actual: readonly string[], predicted: readonly string[]): ClassificationReport {
  if (actual.length !== predicted.length) throw new RangeError('actual and predicted differ in length');
  const labels = [...new Set([...actual, ...predicted])].sort((a, b) => (isNumeric(a) && isNumeric(b) ? Number(a) - Number(b) : a.localeCompare(b)));
  const index = new Map(labels.map((l, i) => [l, i]));
  const confusion = labels.map(() => labels.map(() => 0));
  let correct = 0;
  actual.forEach((a, i) => {
    confusion[index.get(a)!][index.get(predicted[i])!]++;
    if (a === predicted[i]) correct++;
  });
  const perClass = labels.map((label, k) => {
    const tp = confusion[k][k];
    const support = confusion[k].reduce((s, v) => s + v, 0);
    const predictedK = confusion.reduce((s, row) => s + row[k], 0);
    const precision = predictedK ? tp / predictedK : 0;
    const recall = support ? tp / support : 0;
    return { label, support, precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 };
  });
  const n = actual.length;
  return {
    rows: n,
    accuracy: n ? correct / n : 0,
    errorRate: n ? 1 - correct / n : 0,
    labels,
    confusion,
    perClass,
    macroF1: perClass.length ? perClass.reduce((s, c) => s + c.f1, 0) / perClass.length : 0,
  };
}

function isNumeric(s: string): boolean {
  return s.trim() !== '' && Number.isFinite(Number(s));
}
