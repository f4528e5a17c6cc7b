/**
 * `sovereign eval`: runs an ONNX classifier on labelled validation data and reports accuracy, error rate, the
 * confusion matrix, per-class precision/recall and latency. The model is opened like every other load
 * (`openEngine`: validated by formats + policy, run in the supervised engine process on ONNX Runtime with one
 * intra-op thread, the load recorded in the audit log).
 */
import { latencySummary, type LatencySummary } from '../bench/stats';
import { openEngine } from '../engines';
import { classLabels } from '../engines/class-labels';
import { RefusedError, UsageError } from '../util/errors';
import { VERSION } from '../version';
import { readDataset, type Dataset } from './dataset';
import { classificationReport, type ClassificationReport } from './metrics';

export const EVAL_SCHEMA = 'sovereign.eval/v1';

export interface EvalReport extends ClassificationReport {
  schema: typeof EVAL_SCHEMA;
  createdAt: string;
  tool: { name: 'sovereign'; version: string };
  model: { path: string; sha256: string; input: string; output: string };
  data: { path: string; label: string; features: string[] };
  latency: { batch1Ms: LatencySummary; fullBatchMs: number; rowsPerSecond: number };
}

export interface EvalOptions {
  model: string;
  data: string;
  label: string;
  features?: string[];
  /** Which output holds the prediction (default: an integer label output, else the first output). */
  output?: string;
  batchSize?: number;
  workspaceRoot?: string;
  /** The digest the model file must have (a registry manifest's artifact). */
  expectedSha256?: string;
  onProgress?: (done: number, total: number) => void;
  /** Stops between batches (the engine process is stopped). */
  signal?: AbortSignal;
}

export interface EvalRun {
  report: EvalReport;
  /** The validation data as read. */
  data: Dataset;
  /** The predicted class per row. */
  predicted: string[];
}

export async function evaluateModel(options: EvalOptions): Promise<EvalReport> {
  return (await runEvaluation(options)).report;
}

/** Evaluates, and also returns the data and the predictions (for the drift baseline). */
export async function runEvaluation(options: EvalOptions): Promise<EvalRun> {
  const classifier = await openClassifier(options.model, options);
  try {
    const data = await readDataset(options.data, options.label, options.features);
    classifier.check(data);
    const started = performance.now();
    const predicted = await classifier.predict(data, options.batchSize, (done, total) => {
      options.signal?.throwIfAborted();
      options.onProgress?.(done, total);
    });
    options.signal?.throwIfAborted();
    const fullBatchMs = performance.now() - started;
    const latencies = await classifier.latencies(data, 200);
    const report: EvalReport = {
      schema: EVAL_SCHEMA,
      createdAt: new Date().toISOString(),
      tool: { name: 'sovereign', version: VERSION },
      model: { path: options.model, sha256: classifier.sha256, input: classifier.input, output: classifier.output },
      data: { path: options.data, label: options.label, features: data.featureNames },
      ...classificationReport(data.labels, predicted),
      latency: { batch1Ms: latencySummary(latencies), fullBatchMs, rowsPerSecond: data.rows / (fullBatchMs / 1000) },
    };
    return { report, data, predicted };
  } finally {
    await classifier.dispose();
  }
}

/** Runs a validated ONNX classifier over a data set (for `sovereign drift --data`): the predicted class per row. */
export async function predictDataset(model: string, data: Dataset, options: { output?: string; workspaceRoot?: string; expectedSha256?: string } = {}): Promise<string[]> {
  const classifier = await openClassifier(model, options);
  try {
    classifier.check(data);
    return await classifier.predict(data);
  } finally {
    await classifier.dispose();
  }
}

interface Classifier {
  sha256: string;
  input: string;
  output: string;
  /** Throws a UsageError when the data's width is not the model's input width. */
  check(data: Dataset): void;
  predict(data: Dataset, batchSize?: number, onProgress?: (done: number, total: number) => void): Promise<string[]>;
  latencies(data: Dataset, rows: number): Promise<number[]>;
  dispose(): Promise<void>;
}

/**
 * Validates (formats + policy + the expected digest) and loads an ONNX classifier whose one input takes the data's
 * feature width, through `openEngine`: in the supervised engine process, one intra-op thread, the load audited.
 */
async function openClassifier(model: string, options: { output?: string; workspaceRoot?: string; expectedSha256?: string }): Promise<Classifier> {
  const { engine, model: validated, description } = await openEngine(model, {
    workspaceRoot: options.workspaceRoot,
    expectedSha256: options.expectedSha256,
    accept: (m) => {
      if (m.format !== 'onnx') throw new RefusedError(`${model} is a ${m.format} model: eval runs ONNX classifiers`, 'use `sovereign bench` for GGUF models');
    },
    load: { threads: 1 },
  });
  try {
    const inputs = description.inputs ?? [];
    if (inputs.length !== 1) throw new UsageError(`eval needs a model with one input; this one has ${inputs.length}`);
    const input = inputs[0];
    const outputs = description.outputs ?? [];
    const output = options.output ?? outputs.find((o) => o.type.startsWith('int'))?.name ?? outputs[0]?.name;
    if (!output || !outputs.some((o) => o.name === output)) throw new UsageError(`no output named ${options.output}`, `outputs: ${outputs.map((o) => o.name).join(', ')}`);
    /** One batch of rows [from, from + rows) through the engine process (float32 values are exact as JSON numbers). */
    const run = (d: Dataset, from: number, rows: number) => {
      const width = d.featureNames.length;
      const data = Array.from(d.features.subarray(from * width, (from + rows) * width));
      return engine.predict({ [input.name]: { type: 'float32', dims: [rows, width], data } }, [output]);
    };
    return {
      sha256: validated.sha256,
      input: input.name,
      output,
      check(d) {
        const declared = input.dims.at(-1);
        if (typeof declared === 'number' && declared > 0 && declared !== d.featureNames.length) {
          throw new UsageError(`the model's input ${input.name} takes ${declared} features; the data has ${d.featureNames.length} (${d.featureNames.join(', ')})`, 'choose the feature columns with --features');
        }
      },
      async predict(d, batchSize = 256, onProgress) {
        const predicted: string[] = [];
        for (let at = 0; at < d.rows; at += batchSize) {
          const rows = Math.min(batchSize, d.rows - at);
          const result = await run(d, at, rows);
          const labels = classLabels(result.outputs[output], rows);
          if (!labels) throw new UsageError(`the output ${output} does not hold one class label or one row of scores per input row`, 'choose the output with --output');
          predicted.push(...labels);
          onProgress?.(at + rows, d.rows);
        }
        return predicted;
      },
      async latencies(d, count) {
        // The model's own run time per row, measured in the engine process (not the IPC round trip).
        const latencies: number[] = [];
        for (let row = 0; row < Math.min(d.rows, count); row++) latencies.push((await run(d, row, 1)).runMs);
        return latencies;
      },
      dispose: () => engine.stop(),
    };
  } catch (err) {
    await engine.stop();
    throw err;
  }
}

