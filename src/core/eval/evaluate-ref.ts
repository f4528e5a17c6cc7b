/**
 * `sovereign eval` as one use case, for every front end (the CLI command, the extension): resolve MODEL (a file,
 * a manifest or NAME@VERSION), evaluate it, and for a registered version inside a workspace commit the report
 * and the validation set's drift baseline (results-store.ts).
 */
import { buildBaseline } from '../drift/baseline';
import { columnsOf } from './dataset';
import { runEvaluation, type EvalReport } from './evaluate';
import { resolveModelRef } from './model-ref';
import { saveEvalResults, type SavedEval } from './results-store';

export interface EvaluateRefOptions {
  /** An .onnx file, a registry manifest, or NAME[@VERSION|@ALIAS] of the workspace registry. */
  model: string;
  data: string;
  label: string;
  features?: string[];
  output?: string;
  /** Feature columns the drift baseline treats as categories. */
  categorical?: string[];
  /** Commit the report and the baseline for a registered version (default true). */
  save?: boolean;
  workspaceRoot?: string;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface EvaluatedRef {
  report: EvalReport;
  /** Set when the results were committed. */
  saved?: SavedEval;
}

export async function evaluateRef(options: EvaluateRefOptions): Promise<EvaluatedRef> {
  const { workspaceRoot } = options;
  const resolved = await resolveModelRef(options.model, workspaceRoot);
  const { report, data, predicted } = await runEvaluation({
    model: resolved.path,
    expectedSha256: resolved.expectedSha256,
    data: options.data,
    label: options.label,
    features: options.features,
    output: options.output,
    workspaceRoot,
    onProgress: options.onProgress,
    signal: options.signal,
  });
  if (resolved.name && resolved.version) report.model.path = `${resolved.name}@${resolved.version}`;
  if (options.save === false || !workspaceRoot || !resolved.name || !resolved.version) return { report };
  const baseline = buildBaseline(
    columnsOf(data),
    predicted,
    data.labels,
    { createdAt: report.createdAt, model: { name: resolved.name, version: resolved.version, sha256: report.model.sha256 }, data: { path: options.data, rows: data.rows, label: options.label }, output: report.model.output },
    { categorical: options.categorical },
  );
  return { report, saved: await saveEvalResults(workspaceRoot, resolved.name, resolved.version, report, baseline) };
}
