/**
 * Validation data for `sovereign eval`: CSV (csv-parse) or JSON Lines. Each row gives numeric features and a
 * label. CSV: every column but the label is a feature (or the `features` list). JSONL: a `features` array, or
 * numeric fields.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { ioError, UsageError } from '../util/errors';

export interface Dataset {
  featureNames: string[];
  /** Row-major, rows x featureNames.length. */
  features: Float32Array;
  labels: string[];
  rows: number;
}

/**
 * Reads a data set. Without a label column (or with `labelOptional` and a file that lacks it: live data for
 * `sovereign drift`), `labels` is empty.
 */
export async function readDataset(path: string, labelColumn: string | undefined, featureColumns?: string[], labelOptional = false): Promise<Dataset> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw ioError(err, path);
  }
  const records = /\.jsonl$|\.ndjson$/i.test(path) ? parseJsonl(path, text) : parseCsv(path, text);
  if (records.length === 0) throw new UsageError(`${path} has no rows`);
  const first = records[0];
  if (labelColumn !== undefined && !(labelColumn in first) && labelOptional) labelColumn = undefined;
  if (labelColumn !== undefined && !(labelColumn in first)) throw new UsageError(`${path} has no "${labelColumn}" column`, `columns: ${Object.keys(first).join(', ')}`);
  const nested = Array.isArray(first.features);
  // A `features` array is read by position (also under the names a baseline gives them) unless the names are fields.
  const positional = nested && (!featureColumns || featureColumns.every((n) => !(n in first)));
  if (featureColumns && !positional) {
    const missing = featureColumns.filter((n) => !(n in first));
    if (missing.length) throw new UsageError(`${path} has no ${missing.map((n) => `"${n}"`).join(', ')} column${missing.length > 1 ? 's' : ''}`, `columns: ${Object.keys(first).join(', ')}`);
  }
  const names = featureColumns ?? (nested ? (first.features as unknown[]).map((_, i) => `f${i}`) : Object.keys(first).filter((k) => k !== labelColumn));
  const features = new Float32Array(records.length * names.length);
  const labels: string[] = [];
  records.forEach((record, row) => {
    const values = positional ? (record.features as unknown[]) : names.map((n) => record[n]);
    if (values.length !== names.length) throw new UsageError(`${path}: row ${row + 1} has ${values.length} features, the first row ${names.length}`);
    values.forEach((v, j) => {
      const n = typeof v === 'number' ? v : Number(v);
      if (typeof v === 'string' && v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${path}: row ${row + 1}, feature ${names[j]} is not a number ("${String(v)}")`);
      features[row * names.length + j] = n;
    });
    if (labelColumn !== undefined) labels.push(String(record[labelColumn]));
  });
  return { featureNames: names, features, labels, rows: records.length };
}

function parseCsv(path: string, text: string): Record<string, unknown>[] {
  try {
    return parse(text, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, unknown>[];
  } catch (err) {
    throw new UsageError(`${path} is not valid CSV: ${(err as Error).message}`);
  }
}

function parseJsonl(path: string, text: string): Record<string, unknown>[] {
  return text.split('\n').filter((l) => l.trim()).map((line, i) => {
    try {
      const value = JSON.parse(line) as unknown;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
      return value as Record<string, unknown>;
    } catch (err) {
      throw new UsageError(`${path}: line ${i + 1} is not a JSON object (${(err as Error).message})`);
    }
  });
}

/** The data set as one array per feature (for the drift baseline). */
export function columnsOf(data: Dataset): { name: string; values: number[] }[] {
  const width = data.featureNames.length;
  return data.featureNames.map((name, j) => {
    const values = new Array<number>(data.rows);
    for (let r = 0; r < data.rows; r++) values[r] = data.features[r * width + j];
    return { name, values };
  });
}
