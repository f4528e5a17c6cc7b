/**
 * The ONNX engine on onnxruntime-node. It runs in the engine host child (serve, bench, eval: see `openEngine`);
 * nothing outside src/core/engines loads it (the lint's dependency rule).
 *
 * intraOpNumThreads defaults to 1: on small machines ORT's default thread pool gives p99 spikes of 0.5-2 ms on
 * a model whose p50 is ~30 us.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pinModelFile } from '../pinned';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { describeError, SovereignError, UsageError } from '../../util/errors';
import type { JsonTensor, ModelDescription, PredictResult, TensorDescription } from '../types';

type Ort = typeof import('onnxruntime-node');

let ort: Ort | undefined;
/** onnxruntime-node, loaded on first use (it maps a 20 MB native library). */
export function loadOrt(): Ort {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ort ??= require('onnxruntime-node') as Ort;
  } catch (err) {
    throw ortUnavailable(err);
  }
  return ort;
}

/**
 * Why ONNX Runtime cannot load here, for people: the platform VSIX for Intel macOS carries no ONNX Runtime
 * (onnxruntime-node 1.30 ships none), and a VSIX of another platform carries none of this one's.
 */
export function ortUnavailable(err: unknown, platform: string = process.platform, arch: string = process.arch): SovereignError {
  const hint =
    platform === 'darwin' && arch === 'x64'
      ? 'onnxruntime-node 1.30 ships no Intel macOS build: run ONNX models on Linux, Windows or Apple silicon (GGUF models run here)'
      : 'install the Sovereign Workbench VSIX built for this platform, or run `npm ci` in a checkout (docs/packaging.md)';
  return new SovereignError(`ONNX Runtime is not available on ${platform}-${arch}: ${describeError(err).split('\n')[0]}`, hint);
}

/** CUDA when the CUDA provider library is installed and an NVIDIA device exists; CPU always. */
export function availableExecutionProviders(): string[] {
  const providers: string[] = [];
  try {
    const binding = require.resolve('onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node');
    if (process.platform === 'linux' && existsSync(join(dirname(binding), 'libonnxruntime_providers_cuda.so')) && existsSync('/dev/nvidia0')) {
      providers.push('cuda');
    }
  } catch {
    // not linux-x64 or not installed: CPU only
  }
  providers.push('cpu');
  return providers;
}

export interface OnnxLoadOptions {
  threads?: number;
  executionProviders?: string[];
  /** The model's bytes, already read (and hashed) by the caller: ONNX Runtime reads them, not `path`. */
  bytes?: Uint8Array;
}

const ELEMENT_TYPES: Record<string, (n: number) => Tensor.DataType> = {
  float32: (n) => new Float32Array(n),
  float64: (n) => new Float64Array(n),
  int32: (n) => new Int32Array(n),
  int64: (n) => new BigInt64Array(n),
  int8: (n) => new Int8Array(n),
  uint8: (n) => new Uint8Array(n),
  bool: (n) => new Uint8Array(n),
};

export class OnnxEngine {
  private constructor(
    readonly session: InferenceSession,
    readonly description: ModelDescription,
  ) {}

  static async load(path: string, options: OnnxLoadOptions = {}): Promise<OnnxEngine> {
    const started = performance.now();
    const runtime = loadOrt();
    const threads = options.threads ?? 1;
    const wanted = options.executionProviders ?? availableExecutionProviders();
    const sessionOptions = (providers: string[]): InferenceSession.SessionOptions => ({
      executionProviders: providers,
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    const bytes = options.bytes;
    const create = (o: InferenceSession.SessionOptions): Promise<InferenceSession> => (bytes ? runtime.InferenceSession.create(bytes, o) : runtime.InferenceSession.create(path, o));
    let providers = wanted;
    let session: InferenceSession;
    try {
      session = await create(sessionOptions(providers));
    } catch (err) {
      if (!providers.includes('cuda')) throw err;
      // A CUDA provider that fails to start (driver mismatch) must not stop CPU inference.
      providers = providers.filter((p) => p !== 'cuda');
      session = await create(sessionOptions(providers));
    }
    const describe = (meta: readonly InferenceSession.ValueMetadata[]): TensorDescription[] =>
      meta.map((m) => (m.isTensor ? { name: m.name, type: m.type, dims: [...m.shape] } : { name: m.name, type: 'non-tensor', dims: [] }));
    const description: ModelDescription = {
      kind: 'onnx',
      path,
      name: basename(path).replace(/\.onnx$/i, ''),
      loadMs: performance.now() - started,
      threads,
      versions: { 'onnxruntime-node': runtime.env.versions.node ?? 'unknown', onnxruntime: runtime.env.versions.common ?? 'unknown' },
      inputs: describe(session.inputMetadata),
      outputs: describe(session.outputMetadata),
      executionProviders: providers,
    };
    return new OnnxEngine(session, description);
  }

  /**
   * Loads exactly the bytes validation hashed (`sha256`): read and hashed through one open descriptor, then
   * handed to ONNX Runtime from memory. A model with external data files is loaded by its path (they are
   * found next to it), and the path must still name the hashed file afterwards (see pinned.ts).
   */
  static async loadVerified(path: string, sha256: string, options: Omit<OnnxLoadOptions, 'bytes'> = {}): Promise<OnnxEngine> {
    const pinned = await pinModelFile(path, sha256, { keepBytes: true });
    try {
      let fromPath = pinned.bytes === undefined;
      const engine = await OnnxEngine.load(path, { ...options, bytes: pinned.bytes }).catch((err: unknown) => {
        if (fromPath || !/external/i.test(String((err as Error)?.message))) throw err;
        fromPath = true;
        return OnnxEngine.load(path, options);
      });
      await pinned.verifyUnchanged(fromPath).catch(async (err: unknown) => {
        await engine.dispose();
        throw err;
      });
      return engine;
    } finally {
      await pinned.close();
    }
  }

  /** Runs one batch given as ORT tensors (the zero-copy path for in-process callers). */
  async runTensors(feeds: Record<string, Tensor>, outputs?: string[]): Promise<Record<string, Tensor>> {
    return outputs ? this.session.run(feeds, outputs) : this.session.run(feeds);
  }

  /** Runs one batch given as JSON tensors (the IPC and HTTP path). */
  async predict(inputs: Record<string, JsonTensor>, outputs?: string[]): Promise<PredictResult> {
    const feeds: Record<string, Tensor> = {};
    for (const meta of this.description.inputs ?? []) {
      const input = inputs[meta.name];
      if (!input) throw new UsageError(`missing input "${meta.name}"`, `the model takes: ${this.inputSummary()}`);
      feeds[meta.name] = toOrtTensor(meta.name, input, meta.type);
    }
    for (const name of Object.keys(inputs)) {
      if (!feeds[name]) throw new UsageError(`unknown input "${name}"`, `the model takes: ${this.inputSummary()}`);
    }
    const started = performance.now();
    const results = await this.runTensors(feeds, outputs);
    const runMs = performance.now() - started;
    const out: Record<string, JsonTensor> = {};
    for (const [name, tensor] of Object.entries(results)) out[name] = fromOrtTensor(tensor);
    return { outputs: out, runMs };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }

  private inputSummary(): string {
    return (this.description.inputs ?? []).map((i) => `${i.name} ${i.type}[${i.dims.join(',')}]`).join(', ');
  }
}

/** A JSON tensor to an ORT tensor, with its size and type checked. */
export function toOrtTensor(name: string, input: JsonTensor, expectedType?: string): Tensor {
  const type = input.type ?? expectedType ?? 'float32';
  if (expectedType && type !== expectedType) throw new UsageError(`input "${name}" must be ${expectedType}, got ${type}`);
  const make = ELEMENT_TYPES[type];
  if (!make) throw new UsageError(`input "${name}" has an unsupported type ${type}`, `use one of: ${Object.keys(ELEMENT_TYPES).join(', ')}`);
  if (!Array.isArray(input.dims) || !input.dims.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new UsageError(`input "${name}" needs dims as a list of non-negative integers`);
  }
  const count = input.dims.reduce((a, b) => a * b, 1);
  if (!Array.isArray(input.data) || input.data.length !== count) {
    throw new UsageError(`input "${name}" has ${Array.isArray(input.data) ? input.data.length : 'no'} values for dims [${input.dims.join(',')}] (${count} expected)`);
  }
  const data = make(count);
  if (data instanceof BigInt64Array) input.data.forEach((v, i) => (data[i] = BigInt(Math.trunc(Number(v)))));
  else (data as Float32Array).set(input.data.map(Number));
  return new (loadOrt().Tensor)(type as 'float32', data as Float32Array, input.dims);
}

export function fromOrtTensor(tensor: Tensor): JsonTensor {
  const values = tensor.data as ArrayLike<number | bigint>;
  const data = Array.from(values, (v) => (typeof v === 'bigint' ? Number(v) : v));
  return { type: tensor.type, dims: [...tensor.dims], data };
}
