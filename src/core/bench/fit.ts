/**
 * `sovereign fit`: will this model run here with this context? Memory needed against the RAM (and VRAM)
 * available, and the largest context that fits. Computed from the validated header facts: nothing is loaded.
 *
 * What "uses" means: the peak resident set of the supervised engine process serving the model (checked
 * against real llama.cpp runs in test/core/bench/fit-measured.test.ts, within 15%). Weights are mmap'd: they
 * count as resident because inference reads every weight page. The estimate follows llama.cpp's buffers
 * (CPU, node-llama-cpp defaults):
 *   engine   = the engine process itself (Node, node-llama-cpp, llama.cpp): ENGINE_PROCESS_BYTES, measured
 *   weights  = the tensor data (the file size)
 *   KV cache = 2 (K and V) x n_layer x n_ctx x n_head_kv x head_dim x 2 bytes (f16)
 *   compute  = n_ubatch (512) x (4 n_embd + 2 n_ff + n_vocab) x 4 bytes (activations and logits of one
 *              micro-batch, flash attention: llama.cpp enables it by default where the backend supports it);
 *              without flash attention add the attention scores n_ubatch x n_ctx x n_head x 4 bytes
 *   output   = n_vocab x 4 bytes (the logits buffer of one sequence)
 */
import { readFile } from 'node:fs/promises';
import { freemem } from 'node:os';
import { validateModelFile } from '../engines/validate';
import { nvidiaGpus, type GpuFacts } from './machine';

export const FIT_SCHEMA = 'sovereign.fit/v1';
const MiB = 1024 * 1024;
const UBATCH = 512;
/** The engine process without a model: Node + node-llama-cpp + llama.cpp (measured on x64 Linux). */
export const ENGINE_PROCESS_BYTES = 102 * MiB;
/** ONNX Runtime's own memory beside the weights (the engine process included). */
const ONNX_RUNTIME_BYTES = 64 * MiB;
const KV_TYPE_BYTES = 2; // f16

export interface FitReport {
  schema: typeof FIT_SCHEMA;
  model: { path: string; format: string; architecture?: string; parameterCount?: number; sizeBytes: number; trainContext?: number };
  context?: number;
  /** computeBytes = engineBytes + computeBufferBytes + outputBufferBytes (for GGUF). */
  memory: { weightsBytes: number; kvCacheBytes: number; kvBytesPerToken: number; computeBytes: number; totalBytes: number; engineBytes?: number; computeBufferBytes?: number; outputBufferBytes?: number };
  /** e.g. a context larger than the training context. */
  warnings: string[];
  available: { ramBytes: number; gpus: GpuFacts[]; vramBytes?: number };
  fits: { ram: boolean; vram?: boolean };
  maxContext?: { ram: number; vram?: number };
}

interface Shape {
  layers: number;
  headsKv: number;
  heads: number;
  headDim: number;
  embd: number;
  ff: number;
  vocab: number;
  trainContext?: number;
}

function ggufShape(facts: Record<string, unknown>): Shape | undefined {
  const n = (k: string): number | undefined => (typeof facts[k] === 'number' ? (facts[k] as number) : undefined);
  const layers = n('blockCount');
  const heads = n('headCount');
  const embd = n('embeddingLength');
  if (!layers || !heads || !embd) return undefined;
  return { layers, heads, headsKv: n('headCountKv') ?? heads, headDim: embd / heads, embd, ff: n('feedForwardLength') ?? 4 * embd, vocab: n('vocabSize') ?? 32000, trainContext: n('contextLength') };
}

/** Bytes per context token: the KV cache, plus the attention scores of one micro-batch without flash attention. */
function perToken(s: Shape, flashAttention: boolean): { kv: number; compute: number } {
  return { kv: 2 * s.layers * s.headsKv * s.headDim * KV_TYPE_BYTES, compute: flashAttention ? 0 : UBATCH * s.heads * 4 };
}

/** Memory the OS would give a new process now: MemAvailable, bounded by this cgroup's limit. */
export async function availableRam(): Promise<number> {
  let available = freemem();
  try {
    const meminfo = await readFile('/proc/meminfo', 'utf8');
    const m = /MemAvailable:\s+(\d+) kB/.exec(meminfo);
    if (m) available = Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  try {
    const max = (await readFile('/sys/fs/cgroup/memory.max', 'utf8')).trim();
    const current = Number((await readFile('/sys/fs/cgroup/memory.current', 'utf8')).trim());
    if (max !== 'max') available = Math.min(available, Number(max) - current);
  } catch {
    // no cgroup v2 limit
  }
  return available;
}

export async function fitModel(path: string, context: number | undefined, options: { workspaceRoot?: string; flashAttention?: boolean } = {}): Promise<FitReport> {
  const model = await validateModelFile(path, { workspaceRoot: options.workspaceRoot, gate: null });
  const ram = await availableRam();
  const gpus = await nvidiaGpus();
  const vram = gpus.length ? gpus.reduce((s, g) => s + g.memoryFreeBytes, 0) : undefined;
  const weights = model.size;
  const shape = model.format === 'gguf' ? ggufShape(model.facts) : undefined;
  const base: Pick<FitReport, 'schema' | 'model' | 'available'> = {
    schema: FIT_SCHEMA,
    model: {
      path,
      format: model.format,
      architecture: typeof model.facts.architecture === 'string' ? model.facts.architecture : undefined,
      parameterCount: typeof model.facts.parameterCount === 'number' ? model.facts.parameterCount : undefined,
      sizeBytes: model.size,
      trainContext: shape?.trainContext,
    },
    available: { ramBytes: ram, gpus, vramBytes: vram },
  };
  if (!shape) {
    // ONNX (or a GGUF without attention facts): weights and the runtime's own memory.
    const total = weights + ONNX_RUNTIME_BYTES;
    return { ...base, warnings: [], memory: { weightsBytes: weights, kvCacheBytes: 0, kvBytesPerToken: 0, computeBytes: ONNX_RUNTIME_BYTES, totalBytes: total }, fits: { ram: total <= ram, vram: vram === undefined ? undefined : total <= vram } };
  }
  const ctx = context ?? shape.trainContext ?? 4096;
  const per = perToken(shape, options.flashAttention ?? true);
  const computeBuffer = UBATCH * (4 * shape.embd + 2 * shape.ff + shape.vocab) * 4 + per.compute * ctx;
  const output = shape.vocab * 4;
  const fixed = weights + ENGINE_PROCESS_BYTES + UBATCH * (4 * shape.embd + 2 * shape.ff + shape.vocab) * 4 + output;
  const kv = per.kv * ctx;
  const compute = ENGINE_PROCESS_BYTES + computeBuffer + output;
  const total = weights + kv + compute;
  const warnings: string[] = [];
  if (shape.trainContext && ctx > shape.trainContext) {
    warnings.push(`a context of ${ctx} tokens exceeds the ${shape.trainContext} the model was trained for: quality degrades past it and the engine refuses it (use --context ${shape.trainContext} or less)`);
  }
  const largest = (budget: number): number => {
    const raw = Math.floor((budget - fixed) / (per.kv + per.compute));
    const capped = Math.min(raw, shape.trainContext ?? raw);
    return capped < 256 ? Math.max(0, capped) : Math.floor(capped / 256) * 256;
  };
  return {
    ...base,
    context: ctx,
    memory: { weightsBytes: weights, kvCacheBytes: kv, kvBytesPerToken: per.kv, computeBytes: compute, totalBytes: total, engineBytes: ENGINE_PROCESS_BYTES, computeBufferBytes: computeBuffer, outputBufferBytes: output },
    warnings,
    fits: { ram: total <= ram, vram: vram === undefined ? undefined : total <= vram },
    maxContext: { ram: largest(ram), vram: vram === undefined ? undefined : largest(vram) },
  };
}
