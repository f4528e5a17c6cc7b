/**
 * The GGUF engine on a native build of llama.cpp: llama.cpp's own `llama-server` (compiled on this machine by
 * `sovereign engine build`), run by the engine host (the supervised child) on a unix socket (generation:
 * llama-server-client.ts). The same methods
 * and results as the node-llama-cpp engine (gguf-engine.ts): the supervisor, the serving runtime, the gate,
 * the audit and the drift watch see no difference, except `description.llamaCpp`.
 *
 * Why: node-llama-cpp's prebuilt binary evaluates prompts slower than a build for this CPU, and its JS token loop
 * costs ~0.2 ms per token; llama-server's own loop is the reference users compare with (docs/bench.md,
 * issue 18).
 */
import { basename } from 'node:path';
import type { GgufHeader } from '../../formats/gguf/header';
import { isGgufArray, kvString } from '../../formats/gguf/header';
import type { GgufFacts } from '../../formats/gguf/facts';
import { findFimTemplate, getFimTemplate } from '../../fim/templates';
import { UsageError } from '../../util/errors';
import type { ChatRequest, CompletionRequest, EmbeddingResult, EngineLoadOptions, GenerationResult, InfillRequest, ModelDescription } from '../types';
import type { NativeBuild } from './builds';
import { LlamaServerClient } from './llama-server-client';
import { LlamaServerProcess } from './llama-server-process';

const DEFAULT_MAX_CONTEXT = 4096;

export interface NativeLoad {
  build: NativeBuild;
  /** What llama-server opens (see llama-server-process.ts). */
  model: { path: string } | { fd: number };
  /** The model's name for people (the validated path). */
  shownPath: string;
  header: GgufHeader;
  facts: GgufFacts;
  threads: number;
  options: EngineLoadOptions;
  fimFamily?: string;
}

export class LlamaServerEngine {
  private readonly client: LlamaServerClient;

  private constructor(
    private readonly server: LlamaServerProcess,
    readonly description: ModelDescription,
  ) {
    this.client = new LlamaServerClient(server.connection, description);
  }

  static async load(load: NativeLoad): Promise<LlamaServerEngine> {
    const started = performance.now();
    const { facts, header, options, build } = load;
    const trainContext = facts.contextLength ?? DEFAULT_MAX_CONTEXT;
    const contextSize = options.contextSize ?? Math.min(trainContext, DEFAULT_MAX_CONTEXT);
    if (contextSize > trainContext) {
      throw new UsageError(`a context of ${contextSize} tokens is larger than the model's training context (${trainContext})`, `use --ctx ${trainContext} or less`);
    }
    const sequences = options.sequences ?? 1;
    const gpu = build.record.backend !== 'cpu' && options.gpu !== false ? build.record.backend : false;
    const totalLayers = facts.blockCount !== undefined ? facts.blockCount + 1 : undefined;
    const server = await LlamaServerProcess.start({
      binary: build.binaryPath,
      model: load.model,
      threads: load.threads,
      contextSize: contextSize * sequences,
      parallel: sequences,
      batchSize: options.batchSize,
      gpuLayers: gpu ? 999 : 0,
    });
    const name = facts.name ?? basename(load.shownPath);
    const templateText = kvString(header, 'tokenizer.chat_template');
    const hasChatTemplate = typeof templateText === 'string' && templateText.length > 0;
    const tokens = header.metadata.get('tokenizer.ggml.tokens')?.value;
    const vocabulary = isGgufArray(tokens) && !tokens.truncated ? new Set(tokens.items.filter((t): t is string => typeof t === 'string')) : undefined;
    const fimTemplate = facts.fim
      ? undefined
      : (load.fimFamily ? getFimTemplate(load.fimFamily) : findFimTemplate({ names: [facts.name, kvString(header, 'general.basename'), basename(load.shownPath)], hasToken: vocabulary && ((text) => vocabulary.has(text)) }));
    const description: ModelDescription = {
      kind: 'gguf',
      path: load.shownPath,
      name,
      loadMs: performance.now() - started,
      threads: load.threads,
      versions: { 'llama.cpp': build.record.commit.slice(0, 7), 'llama.cpp-build': `native ${build.record.backend} (llama-server)` },
      architecture: facts.architecture,
      contextSize,
      trainContextSize: trainContext,
      sequences,
      gpu,
      gpuLayers: gpu ? totalLayers ?? 0 : 0,
      totalLayers,
      vocabularySize: facts.vocabSize,
      hasChatTemplate,
      chatTemplate: hasChatTemplate ? 'jinja (tokenizer.chat_template)' : undefined,
      infill: facts.fim ? 'native' : fimTemplate ? 'template' : 'none',
      fimFamily: fimTemplate?.family,
      embeddings: false,
      llamaCpp: { build: 'native', backend: build.record.backend, binary: build.binaryPath, sha256: build.record.sha256, isolation: server.isolation, socket: server.socketPath },
    };
    return new LlamaServerEngine(server, description);
  }

  /** Called when llama-server ends on its own (a crash): the engine host then ends too, and is restarted. */
  onCrash(handler: (code: number | null, signal: NodeJS.Signals | null) => void): void {
    this.server.onUnexpectedExit(handler);
  }

  tokenCount(text: string): Promise<number> {
    return this.client.tokenCount(text);
  }

  complete(request: CompletionRequest, signal: AbortSignal, onText?: (text: string) => void): Promise<GenerationResult> {
    return this.client.complete(request, signal, onText);
  }

  infill(request: InfillRequest, signal: AbortSignal, onText?: (text: string) => void): Promise<GenerationResult> {
    return this.client.infill(request, signal, onText);
  }

  chat(request: ChatRequest, signal: AbortSignal, onText?: (text: string) => void): Promise<GenerationResult> {
    return this.client.chat(request, signal, onText);
  }

  embed(): Promise<EmbeddingResult> {
    return this.client.embed();
  }

  async dispose(): Promise<void> {
    await this.server.stop();
  }
}
