/**
 * `sovereign eval`: runs an ONNX classifier on labelled validation data and reports accuracy, error rate, the
 * confusion matrix, per-class precision/recall and latency. The model is validated (formats + policy) first; it
 * runs in process on ONNX Runtime, one intra-op thread.
 */
import type { Tensor } from 'onnxruntime-node';
import { latencySummary, type LatencySummary } from '../bench/stats';
import { OnnxEngine, loadOrt } from '../engines/onnx/onnx-engine';
import { validateModelFile } from '../engines/validate';
import { RefusedError, UsageError } from '../util/errors';
import { VERSION } from '../version';
import { readDataset } from './dataset';
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
  onProgress?: (done: number, total: number) => void;
}

export async function evaluateModel(options: EvalOptions): Promise<EvalReport> {
  const validated = await validateModelFile(options.model, { workspaceRoot: options.workspaceRoot });
  if (validated.format !== 'onnx') throw new RefusedError(`${options.model} is a ${validated.format} model: eval runs ONNX classifiers`, 'use `sovereign bench` for GGUF models');
  const data = await readDataset(options.data, options.label, options.features);
  // Exactly the validated bytes (hashed again through the descriptor ONNX Runtime's input is read from).
  const engine = await OnnxEngine.loadVerified(options.model, validated.sha256, { threads: 1 });
  try {
    const inputs = engine.description.inputs ?? [];
    if (inputs.length !== 1) throw new UsageError(`eval needs a model with one input; this one has ${inputs.length}`);
    const input = inputs[0];
    const width = data.featureNames.length;
    const declared = input.dims.at(-1);
    if (typeof declared === 'number' && declared > 0 && declared !== width) {
      throw new UsageError(`the model's input ${input.name} takes ${declared} features; the data has ${width} (${data.featureNames.join(', ')})`, 'choose the feature columns with --features');
    }
    const outputs = engine.description.outputs ?? [];
    const output = options.output ?? outputs.find((o) => o.type.startsWith('int'))?.name ?? outputs[0]?.name;
    if (!output || !outputs.some((o) => o.name === output)) throw new UsageError(`no output named ${options.output}`, `outputs: ${outputs.map((o) => o.name).join(', ')}`);
    const Ort = loadOrt();
    const batchSize = options.batchSize ?? 256;
    const predicted: string[] = [];
    const started = performance.now();
    for (let at = 0; at < data.rows; at += batchSize) {
      const rows = Math.min(batchSize, data.rows - at);
      const tensor = new Ort.Tensor('float32', data.features.subarray(at * width, (at + rows) * width), [rows, width]);
      const result = await engine.runTensors({ [input.name]: tensor }, [output]);
      predicted.push(...labelsOf(result[output], rows));
      options.onProgress?.(at + rows, data.rows);
    }
    const fullBatchMs = performance.now() - started;
    const latencies: number[] = [];
    for (let row = 0; row < Math.min(data.rows, 200); row++) {
      const tensor = new Ort.Tensor('float32', data.features.slice(row * width, (row + 1) * width), [1, width]);
      const t = performance.now();
      await engine.runTensors({ [input.name]: tensor }, [output]);
      latencies.push(performance.now() - t);
    }
    return {
      schema: EVAL_SCHEMA,
      createdAt: new Date().toISOString(),
      tool: { name: 'sovereign', version: VERSION },
      model: { path: options.model, sha256: validated.sha256, input: input.name, output },
      data: { path: options.data, label: options.label, features: data.featureNames },
      ...classificationReport(data.labels, predicted),
      latency: { batch1Ms: latencySummary(latencies), fullBatchMs, rowsPerSecond: data.rows / (fullBatchMs / 1000) },
    };
  } finally {
    await engine.dispose();
  }
}

/** Class labels from an output: integer labels as they are, [N, C] scores by argmax, [N] or [N, 1] scores at 0.5. */
function labelsOf(tensor: Tensor, rows: number): string[] {
  const values = Array.from(tensor.data as ArrayLike<number | bigint>, Number);
  if (tensor.type.startsWith('int') || tensor.type === 'bool') return values.slice(0, rows).map((v) => String(v));
  const classes = values.length / rows;
  if (classes <= 1) return values.map((v) => (v >= 0.5 ? '1' : '0'));
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (values[r * classes + c] > values[r * classes + best]) best = c;
    out.push(String(best));
  }
  return out;
}
