/**
 * The engine vocabulary shared by the supervisor (parent), the engine host (child process), `sovereign serve`,
 * `bench` and `eval`. Everything here is plain JSON so it crosses the IPC channel unchanged.
 */

export type EngineKind = 'gguf' | 'onnx';

export interface EngineLoadOptions {
  /** CPU threads for generation (GGUF) or intra-op threads (ONNX). Default: see threads.ts. */
  threads?: number;
  /** Context size in tokens (GGUF). Default: min(model's training context, 4096). */
  contextSize?: number;
  /** Sequences evaluated at once in one context (GGUF): the number of requests served in parallel. */
  sequences?: number;
  /** 'auto' offloads layers to a GPU when one is present; false forces CPU. */
  gpu?: 'auto' | false;
  /** Batch size for prompt processing (GGUF). */
  batchSize?: number;
  /** Also create an embedding context (GGUF). */
  embeddings?: boolean;
  /**
   * Which llama.cpp runs a GGUF model: 'native' (a build for this machine, `sovereign engine build`),
   * 'prebuilt' (node-llama-cpp's binary), 'auto' (native when a build exists for the bundled commit and no
   * embeddings are asked for, else prebuilt). Default: $SOVEREIGN_LLAMA_CPP, else 'auto'.
   */
  llamaCpp?: LlamaCppChoice;
  /** Where native builds are looked for (default: builds.ts defaultBuildsDir). */
  llamaCppBuilds?: string;
}

export type LlamaCppChoice = 'auto' | 'native' | 'prebuilt';

/** Which llama.cpp a GGUF model runs on. */
export interface LlamaCppInUse {
  build: 'prebuilt' | 'native';
  /** Native: the build's backend. */
  backend?: string;
  /** Native: the llama-server binary and the sha256 it was checked against before it ran. */
  binary?: string;
  sha256?: string;
  /** Native: 'network-namespace' when llama-server runs with no network at all. */
  isolation?: 'network-namespace' | 'none';
  /** Native: llama-server's unix socket (in a 0700 folder), where the supervisor sends generation requests. */
  socket?: string;
}

/** Which fill-in-the-middle path a GGUF model gets. */
export type InfillMode = 'native' | 'template' | 'none';

export interface TensorDescription {
  name: string;
  /** ONNX element type, e.g. 'float32', 'int64'. */
  type: string;
  /** Dimensions; symbolic dimensions are strings (e.g. 'N'), unknown ones -1. */
  dims: (number | string)[];
}

export interface ModelDescription {
  kind: EngineKind;
  path: string;
  /** A name for /v1/models: general.name, the graph name, or the file name. */
  name: string;
  /** Milliseconds the native load took (the child's measurement). */
  loadMs: number;
  threads: number;
  versions: Record<string, string>;
  // GGUF
  architecture?: string;
  contextSize?: number;
  trainContextSize?: number;
  sequences?: number;
  /** The llama.cpp backend the model loaded on ('cuda', 'vulkan', 'metal'), false for the CPU build. */
  gpu?: string | false;
  /** Layers offloaded to the GPU (0 on the CPU build). */
  gpuLayers?: number;
  /** Layers the model has (what full offloading means). */
  totalLayers?: number;
  vocabularySize?: number;
  hasChatTemplate?: boolean;
  /** How the model's own chat template is rendered: `jinja (tokenizer.chat_template)` or the built-in format it matched. */
  chatTemplate?: string;
  infill?: InfillMode;
  /** The FIM template family used when infill is 'template'. */
  fimFamily?: string;
  embeddings?: boolean;
  llamaCpp?: LlamaCppInUse;
  // ONNX
  inputs?: TensorDescription[];
  outputs?: TensorDescription[];
  executionProviders?: string[];
}

export interface SamplingOptions {
  maxTokens?: number;
  /** 0 = greedy (deterministic). */
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  stop?: string[];
  /** Stop generating after this many milliseconds (llama-server's t_max_predict_ms). */
  timeLimitMs?: number;
}

export interface CompletionRequest extends SamplingOptions {
  prompt: string;
}

export interface InfillRequest extends SamplingOptions {
  /** Text before the cursor. */
  prefix: string;
  /** Text after the cursor. */
  suffix: string;
  /** Extra context chunks (other files), placed before the prefix. */
  extra?: { filename?: string; text: string }[];
  /** llama-server's `prompt`: the current line before the cursor, appended to the prefix. */
  prompt?: string;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest extends SamplingOptions {
  messages: ChatMessage[];
}

export type StopReason = 'eos' | 'max-tokens' | 'stop' | 'time-limit' | 'cancelled';

export interface GenerationResult {
  text: string;
  stopReason: StopReason;
  promptTokens: number;
  generatedTokens: number;
  /** From the request's arrival in the engine to the first generated token. */
  ttftMs: number;
  /** Prompt processing time (up to the first token). */
  promptMs: number;
  /** Time spent generating after the first token. */
  generateMs: number;
  /** Prompt tokens the sequence already held from the previous request (not evaluated again); infill reports it. */
  cachedTokens?: number;
}

export interface EmbeddingResult {
  vectors: number[][];
  promptTokens: number;
}

/** A tensor as JSON: row-major data. int64 values travel as numbers (exact up to 2^53). */
export interface JsonTensor {
  type: string;
  dims: number[];
  data: number[];
}

export interface PredictResult {
  outputs: Record<string, JsonTensor>;
  runMs: number;
}

/** What the child reports about itself (health and memory). */
export interface EngineHealth {
  pid: number;
  rssBytes: number;
  heapUsedBytes: number;
  uptimeMs: number;
  busy: number;
  loaded: boolean;
}
