/**
 * The GGUF engine on node-llama-cpp. It runs INSIDE the engine host child process (a llama.cpp abort must never
 * take down the extension host or the server), after the parent has validated the file.
 *
 * node-llama-cpp is ESM-only: it is loaded with a dynamic import(), which TypeScript (module Node16) and esbuild
 * both keep as import() in CommonJS output. getLlama never builds or downloads anything at run time.
 */
import { basename } from 'node:path';
import type {
  Llama,
  LlamaContext,
  LlamaContextSequence,
  LlamaEmbeddingContext,
  LlamaModel,
  ChatHistoryItem,
  ChatWrapper,
  Token,
} from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { findFimTemplate, getFimTemplate, type FimTemplate } from '../../fim/templates';
import { UsageError } from '../../util/errors';
import { cannotFillInTheMiddle, hasNoChatTemplate, templateInfill } from '../refusals';
import type {
  ChatRequest,
  CompletionRequest,
  EmbeddingResult,
  EngineLoadOptions,
  GenerationResult,
  InfillRequest,
  ModelDescription,
  SamplingOptions,
  StopReason,
} from '../types';
import { SequencePool } from './sequence-pool';

type NodeLlamaCpp = typeof import('node-llama-cpp', { with: { 'resolution-mode': 'import' } });

let modulePromise: Promise<NodeLlamaCpp> | undefined;
/** The node-llama-cpp module, imported once. */
export function importNodeLlamaCpp(): Promise<NodeLlamaCpp> {
  modulePromise ??= import('node-llama-cpp');
  return modulePromise;
}

/** getLlama with everything that could download or compile switched off. */
export async function getLlamaSafely(gpu: 'auto' | false = 'auto'): Promise<Llama> {
  const { getLlama, LlamaLogLevel } = await importNodeLlamaCpp();
  return getLlama({ gpu, build: 'never', skipDownload: true, usePrebuiltBinaries: true, progressLogs: false, logLevel: LlamaLogLevel.error });
}

const DEFAULT_MAX_CONTEXT = 4096;

export class GgufEngine {
  private constructor(
    private readonly module: NodeLlamaCpp,
    readonly llama: Llama,
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    private readonly pool: SequencePool<LlamaContextSequence>,
    readonly description: ModelDescription,
    private readonly fimTemplate: FimTemplate | undefined,
    private readonly threads: number,
    private readonly chatWrapper: ChatWrapper | undefined,
  ) {}

  /** `path` is what llama.cpp opens (e.g. `/proc/self/fd/N`, see pinned.ts); `shownPath` names the model. */
  static async load(path: string, threads: number, options: EngineLoadOptions, fimFamily?: string, shownPath = path): Promise<GgufEngine> {
    const started = performance.now();
    const module = await importNodeLlamaCpp();
    const llama = await getLlamaSafely(options.gpu ?? 'auto');
    // gpuLayers 'auto' offloads what fits in VRAM when a GPU backend is present, and is 0 on CPU.
    const model = await llama.loadModel({ modelPath: path, gpuLayers: llama.gpu === false ? 0 : 'auto' });
    const sequences = options.sequences ?? 1;
    const contextSize = options.contextSize ?? Math.min(model.trainContextSize, DEFAULT_MAX_CONTEXT);
    if (contextSize > model.trainContextSize) {
      await model.dispose();
      throw new UsageError(`a context of ${contextSize} tokens is larger than the model's training context (${model.trainContextSize})`, `use --ctx ${model.trainContextSize} or less`);
    }
    const context = await model.createContext({
      // node-llama-cpp splits contextSize across sequences; each sequence gets the full requested window.
      contextSize: contextSize * sequences,
      sequences,
      threads: { ideal: threads, min: threads },
      batchSize: options.batchSize,
    });
    const pool = new SequencePool(Array.from({ length: sequences }, () => context.getSequence()));
    const metadata = model.fileInfo.metadata as unknown as { general?: { name?: string; basename?: string; architecture?: string }; tokenizer?: { chat_template?: string } };
    const name = metadata.general?.name ?? basename(shownPath);
    const nativeInfill = model.tokens.infill.prefix != null && model.tokens.infill.suffix != null && model.tokens.infill.middle != null;
    const hasToken = (text: string): boolean => {
      const tokens = model.tokenize(text, true);
      return tokens.length === 1 && model.isSpecialToken(tokens[0]);
    };
    const fimTemplate = nativeInfill
      ? undefined
      : (fimFamily ? getFimTemplate(fimFamily) : findFimTemplate({ names: [metadata.general?.name, metadata.general?.basename, basename(shownPath)], hasToken }));
    // The model's own chat template (tokenizer.chat_template): node-llama-cpp reads the jinja template and
    // picks the wrapper that renders it (a built-in one when the template is a known format, else the jinja
    // template itself). A model without a template gets no chat at all: a guessed format yields garbage.
    const templateText = metadata.tokenizer?.chat_template;
    const hasChatTemplate = typeof templateText === 'string' && templateText.length > 0;
    const chatWrapper = hasChatTemplate ? module.resolveChatWrapper(model) : undefined;
    const release = llama.llamaCppRelease;
    const description: ModelDescription = {
      kind: 'gguf',
      path: shownPath,
      name,
      loadMs: performance.now() - started,
      threads,
      versions: { 'node-llama-cpp': await nodeLlamaCppVersion(), 'llama.cpp': release.release, 'llama.cpp-build': llama.buildType },
      architecture: metadata.general?.architecture,
      contextSize,
      trainContextSize: model.trainContextSize,
      sequences,
      gpu: llama.gpu,
      gpuLayers: model.gpuLayers,
      totalLayers: model.fileInsights.totalLayers,
      vocabularySize: countVocabulary(model),
      hasChatTemplate,
      chatTemplate: chatWrapper ? chatTemplateName(chatWrapper) : undefined,
      infill: nativeInfill ? 'native' : fimTemplate ? 'template' : 'none',
      fimFamily: fimTemplate?.family,
      embeddings: options.embeddings ?? false,
      llamaCpp: { build: 'prebuilt' },
    };
    return new GgufEngine(module, llama, model, context, pool, description, fimTemplate, threads, chatWrapper);
  }

  get busy(): number {
    return this.pool.inUse;
  }

  async tokenCount(text: string): Promise<number> {
    return this.model.tokenize(text).length;
  }

  async complete(request: CompletionRequest, signal: AbortSignal, onText?: (text: string) => void): Promise<GenerationResult> {
    return this.withSequence(signal, (sequence) => {
      const completion = new this.module.LlamaCompletion({ contextSequence: sequence });
      const promptTokens = this.model.tokenize(request.prompt, false).length + (this.model.tokens.bos != null ? 1 : 0);
      return this.measure(request, signal, onText, promptTokens, (options) => completion.generateCompletion(request.prompt, options));
    });
  }

  async infill(request: InfillRequest, signal: AbortSignal, onText?: (text: string) => void): Promise<GenerationResult> {
    if (this.description.infill === 'native') {
      const prefix = withExtraContext(request, this.fimTemplate === undefined);
      return this.withSequence(signal, (sequence) => {
        const completion = new this.module.LlamaCompletion({ contextSequence: sequence });
        const tokens = this.infillTokens(sequence, prefix, request.suffix, request.prompt ?? '', request.maxTokens ?? 128);
        if (tokens) {
          // What the sequence keeps from the last request (node-llama-cpp evaluates at least the last token).
          const held = sequence.contextTokens;
          const bos = this.model.tokens.shouldPrependBosToken ? this.model.tokens.bos : null;
          const input = bos == null ? tokens : [bos, ...tokens];
          let common = 0;
          while (common < held.length && common < input.length - 1 && held[common] === input[common]) common++;
          return this.measure(request, signal, onText, input.length, (options) => completion.generateCompletion(tokens, options)).then((r) => ({ ...r, cachedTokens: common }));
        }
        // No middle token (suffix-prefix models): node-llama-cpp's own layout, the cursor line ending the prefix.
        const whole = prefix + (request.prompt ?? '');
        const promptTokens = this.model.tokenize(whole, false).length + this.model.tokenize(request.suffix, false).length + 3;
        return this.measure(request, signal, onText, promptTokens, (options) => completion.generateInfillCompletion(whole, request.suffix, options));
      });
    }
    if (!this.fimTemplate) throw cannotFillInTheMiddle(this.description.name);
    return this.complete(templateInfill(this.fimTemplate, request), signal, onText);
  }

  async chat(request: ChatRequest, signal: AbortSignal, onText?: (text: string) => void): Promise<GenerationResult> {
    if (!this.description.hasChatTemplate) {
      throw hasNoChatTemplate(this.description.name);
    }
    const messages = request.messages;
    const last = messages[messages.length - 1];
    if (!last || last.role !== 'user') throw new UsageError('the last chat message must come from the user');
    return this.withSequence(signal, async (sequence) => {
      const session = new this.module.LlamaChatSession({ contextSequence: sequence, autoDisposeSequence: false, chatWrapper: this.chatWrapper });
      try {
        const history: ChatHistoryItem[] = messages.slice(0, -1).map((m) =>
          m.role === 'assistant' ? { type: 'model', response: [m.content] } : { type: m.role, text: m.content },
        );
        session.setChatHistory(history);
        const promptTokens = this.model.tokenize(messages.map((m) => m.content).join('\n'), false).length;
        return await this.measure(request, signal, onText, promptTokens, async (options) => {
          const meta = await session.promptWithMeta(last.content, { ...options, customStopTriggers: options.customStopTriggers as string[] | undefined });
          return { response: meta.responseText, metadata: { stopReason: meta.stopReason === 'eogToken' ? 'eogToken' : meta.stopReason } };
        });
      } finally {
        session.dispose({ disposeSequence: false });
      }
    });
  }

  private embedding: Promise<LlamaEmbeddingContext> | undefined;

  async embed(texts: string[]): Promise<EmbeddingResult> {
    this.embedding ??= this.model.createEmbeddingContext({ threads: this.threads, contextSize: this.description.contextSize });
    const context = await this.embedding;
    const vectors: number[][] = [];
    let promptTokens = 0;
    for (const text of texts) {
      promptTokens += this.model.tokenize(text).length;
      vectors.push([...(await context.getEmbeddingFor(text)).vector]);
    }
    return { vectors, promptTokens };
  }

  async dispose(): Promise<void> {
    await (await this.embedding)?.dispose();
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }

  /**
   * The infill prompt as the bundled llama-server builds it: FIM_PRE prefix prompt FIM_SUF suffix FIM_MID
   * (node-llama-cpp adds BOS), the prefix, the cursor line (`prompt`) and the suffix tokenized apart, so both
   * servers see the same tokens. Fitted into the window as llama-server does: the generation and the
   * context-shift margin kept free, the suffix at most a quarter, the prefix keeping its end. The sequence
   * keeps the tokens of the previous request, and node-llama-cpp evaluates only from the first one that
   * differs. Undefined for a model without a middle token.
   */
  private infillTokens(sequence: LlamaContextSequence, prefix: string, suffix: string, prompt: string, maxTokens: number): Token[] | undefined {
    const { prefix: pre, suffix: suf, middle: mid } = this.model.tokens.infill;
    if (pre == null || suf == null || mid == null) return undefined;
    // Each part tokenized on its own, without special tokens, as llama-server's tokenize_mixed(text, false, false)
    // (an SPM vocabulary then starts each part with its space prefix, as there).
    const tokenize = (text: string): Token[] => (text ? this.model.tokenize(text, false) : []);
    const window = Math.min(this.description.contextSize ?? sequence.context.contextSize, sequence.context.contextSize);
    const shiftMargin = Math.max(1, Math.floor(sequence.context.contextSize / 10));
    const room = Math.max(0, window - shiftMargin - maxTokens - 4);
    const promptTokens = tokenize(prompt).slice(-room);
    const suffixTokens = tokenize(suffix).slice(0, Math.max(0, Math.min(Math.floor(room / 4), room - promptTokens.length)));
    const prefixRoom = Math.max(0, room - promptTokens.length - suffixTokens.length);
    const prefixTokens = prefixRoom > 0 ? tokenize(prefix).slice(-prefixRoom) : [];
    return [pre, ...prefixTokens, ...promptTokens, suf, ...suffixTokens, mid];
  }

  /** Waits for a free sequence, runs `fn`, and always gives the sequence back. */
  private async withSequence<T>(signal: AbortSignal, fn: (sequence: LlamaContextSequence) => Promise<T>): Promise<T> {
    const sequence = await this.pool.acquire(signal);
    try {
      return await fn(sequence);
    } finally {
      this.pool.release(sequence);
    }
  }

  /** Runs one generation with timings: time to first token, prompt and generation phases, stop reason. */
  private async measure(
    request: SamplingOptions,
    signal: AbortSignal,
    /** Streams generated text; without it node-llama-cpp skips the per-token detokenization for text chunks. */
    onText: ((text: string) => void) | undefined,
    promptTokens: number,
    generate: (options: GenerateOptions) => Promise<string | { response: string; metadata: { stopReason: string } }>,
  ): Promise<GenerationResult> {
    const started = performance.now();
    let firstTokenAt: number | undefined;
    let generatedTokens = 0;
    const stopper = new AbortController();
    let timedOut = false;
    const onAbort = (): void => stopper.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = request.timeLimitMs !== undefined && request.timeLimitMs > 0
      ? setTimeout(() => { timedOut = true; stopper.abort(); }, request.timeLimitMs)
      : undefined;
    try {
      const maxTokens = request.maxTokens ?? 128;
      if (maxTokens === 0) {
        // llama.vscode warms the cache with n_predict 0: nothing to generate.
        return { text: '', stopReason: 'max-tokens', promptTokens, generatedTokens: 0, ttftMs: 0, promptMs: 0, generateMs: 0 };
      }
      const out = await generate({
        maxTokens,
        temperature: request.temperature ?? 0,
        topK: request.topK,
        topP: request.topP,
        seed: request.seed,
        repeatPenalty: false,
        customStopTriggers: request.stop && request.stop.length > 0 ? request.stop : undefined,
        signal: stopper.signal,
        stopOnAbortSignal: true,
        onToken: (tokens: Token[]) => {
          firstTokenAt ??= performance.now();
          generatedTokens += tokens.length;
        },
        onTextChunk: onText && ((text: string) => onText(text)),
      });
      const ended = performance.now();
      const response = typeof out === 'string' ? out : out.response;
      const nativeReason = typeof out === 'string' ? undefined : out.metadata.stopReason;
      const stopReason: StopReason = signal.aborted ? 'cancelled'
        : timedOut ? 'time-limit'
        : nativeReason === 'maxTokens' || (nativeReason === undefined && generatedTokens >= maxTokens) ? 'max-tokens'
        : nativeReason === 'customStopTrigger' || nativeReason === 'stopGenerationTrigger' ? 'stop'
        : nativeReason === 'abort' ? 'cancelled'
        : 'eos';
      const first = firstTokenAt ?? ended;
      return {
        text: response,
        stopReason,
        promptTokens,
        // node-llama-cpp can report a held-back token twice through onToken (byte tokens of an unfinished UTF-8
        // sequence, when no text callback is given); generation itself never passes maxTokens.
        generatedTokens: Math.min(generatedTokens, maxTokens),
        ttftMs: first - started,
        promptMs: first - started,
        generateMs: ended - first,
      };
    } finally {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }
}

type GenerateOptions = {
  maxTokens: number;
  temperature: number;
  topK?: number;
  topP?: number;
  seed?: number;
  repeatPenalty: false;
  customStopTriggers?: string[];
  signal: AbortSignal;
  stopOnAbortSignal: true;
  onToken: (tokens: Token[]) => void;
  onTextChunk?: (text: string) => void;
};

/** Native infill has no slot for other files: they go before the prefix as plain text. */
function withExtraContext(request: InfillRequest, include: boolean): string {
  if (!include || !request.extra?.length) return request.prefix;
  const context = request.extra.map((e) => (e.filename ? `// ${e.filename}\n` : '') + e.text + (e.text.endsWith('\n') ? '' : '\n')).join('');
  return context + request.prefix;
}

/** Which wrapper renders the model's template: `jinja` (the template itself) or the built-in format it matched. */
function chatTemplateName(wrapper: ChatWrapper): string {
  const name = wrapper.wrapperName;
  return name === 'JinjaTemplate' ? 'jinja (tokenizer.chat_template)' : `${name} (matches tokenizer.chat_template)`;
}

function countVocabulary(model: LlamaModel): number | undefined {
  const tokens = (model.fileInfo.metadata as unknown as { tokenizer?: { ggml?: { tokens?: unknown[] } } }).tokenizer?.ggml?.tokens;
  return Array.isArray(tokens) ? tokens.length : undefined;
}

async function nodeLlamaCppVersion(): Promise<string> {
  try {
    // The package's own package.json is not exported; read it through the resolved entry's folder.
    const { readFile } = await import('node:fs/promises');
    const { dirname, join } = await import('node:path');
    const entry = require.resolve('node-llama-cpp');
    const pkg = JSON.parse(await readFile(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}
