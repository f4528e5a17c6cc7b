/**
 * Generation on a native llama-server (llama-server-process.ts): the same methods and results as the
 * node-llama-cpp engine (gguf-engine.ts). Used by the engine host, and by the supervisor in the parent, which
 * sends generation requests straight to the socket (one process hop less per keystroke: docs/bench.md) while
 * the engine host keeps owning the process.
 *
 * Infill goes to llama-server's `/infill`, so the prompt layout and the KV-cache reuse between keystrokes are
 * llama.cpp's own; chat renders the model's own template with llama.cpp's jinja engine (`/apply-template`).
 */
import { getFimTemplate, type FimTemplate } from '../../fim/templates';
import { SovereignError, UsageError } from '../../util/errors';
import { cannotFillInTheMiddle, hasNoChatTemplate, templateInfill } from '../refusals';
import type {
  ChatRequest,
  CompletionRequest,
  EmbeddingResult,
  GenerationResult,
  InfillRequest,
  ModelDescription,
  SamplingOptions,
  StopReason,
} from '../types';
import type { HttpReply, LlamaServerConnection } from './llama-server-connection';

/** llama-server's answer to /completion and /infill (the fields used here). */
interface CompletionReply {
  content?: string;
  stop_type?: 'none' | 'eos' | 'limit' | 'word';
  tokens_predicted?: number;
  tokens_evaluated?: number;
  tokens_cached?: number;
  stop?: boolean;
  timings?: { prompt_n?: number; prompt_ms?: number; predicted_n?: number; predicted_ms?: number; cache_n?: number };
}

export class LlamaServerClient {
  private readonly fimTemplate: FimTemplate | undefined;

  constructor(
    private readonly connection: LlamaServerConnection,
    readonly description: ModelDescription,
  ) {
    this.fimTemplate = description.infill === 'template' && description.fimFamily ? getFimTemplate(description.fimFamily) : undefined;
  }

  async tokenCount(text: string): Promise<number> {
    const reply = await this.connection.call('POST', '/tokenize', { content: text, add_special: false });
    const tokens = (reply.body as { tokens?: unknown[] } | undefined)?.tokens;
    if (reply.status !== 200 || !Array.isArray(tokens)) throw replyError('tokenize', reply);
    return tokens.length;
  }

  complete(request: CompletionRequest, signal: AbortSignal, onText?: (text: string) => void): Promise<GenerationResult> {
    return this.generate('/completion', { prompt: request.prompt }, request, signal, onText);
  }

  infill(request: InfillRequest, signal: AbortSignal, onText?: (text: string) => void): Promise<GenerationResult> {
    if (this.description.infill === 'native') {
      const body = {
        input_prefix: request.prefix,
        input_suffix: request.suffix,
        input_extra: request.extra?.map((e) => ({ filename: e.filename ?? '', text: e.text })) ?? [],
        prompt: request.prompt ?? '',
      };
      return this.generate('/infill', body, request, signal, onText);
    }
    if (!this.fimTemplate) throw cannotFillInTheMiddle(this.description.name);
    return this.complete(templateInfill(this.fimTemplate, request), signal, onText);
  }

  async chat(request: ChatRequest, signal: AbortSignal, onText?: (text: string) => void): Promise<GenerationResult> {
    if (!this.description.hasChatTemplate) {
      throw hasNoChatTemplate(this.description.name);
    }
    const last = request.messages[request.messages.length - 1];
    if (!last || last.role !== 'user') throw new UsageError('the last chat message must come from the user');
    // The model's own template, rendered by llama.cpp's jinja engine, then generated like any completion.
    const rendered = await this.connection.call('POST', '/apply-template', { messages: request.messages }, signal);
    const prompt = (rendered.body as { prompt?: unknown } | undefined)?.prompt;
    if (rendered.status !== 200 || typeof prompt !== 'string') throw replyError('apply-template', rendered);
    return this.generate('/completion', { prompt }, request, signal, onText);
  }

  /** Closes the keep-alive connections. */
  close(): void {
    this.connection.close();
  }

  async embed(): Promise<EmbeddingResult> {
    throw new UsageError('embeddings run on the prebuilt llama.cpp engine', 'load the model with embeddings enabled (the engine then uses node-llama-cpp), or --llama-cpp prebuilt');
  }

  /** One generation: llama-server's own timings, stop reason, and the cache reuse it reports. */
  private async generate(path: string, input: Record<string, unknown>, request: SamplingOptions, signal: AbortSignal, onText?: (text: string) => void): Promise<GenerationResult> {
    const maxTokens = request.maxTokens ?? 128;
    if (maxTokens === 0 && path !== '/infill') {
      return { text: '', stopReason: 'max-tokens', promptTokens: 0, generatedTokens: 0, ttftMs: 0, promptMs: 0, generateMs: 0 };
    }
    const timeLimited = request.timeLimitMs !== undefined && request.timeLimitMs > 0;
    // Streamed when the caller streams, or when a time limit must end it with the text so far (llama-server's
    // own t_max_predict_ms waits for a newline); otherwise one reply, no per-token traffic.
    const streamed = onText !== undefined || timeLimited;
    const body = {
      ...input,
      n_predict: maxTokens,
      temperature: request.temperature ?? 0,
      ...(request.topK !== undefined ? { top_k: request.topK } : {}),
      ...(request.topP !== undefined ? { top_p: request.topP } : {}),
      ...(request.seed !== undefined ? { seed: request.seed } : {}),
      ...(request.stop && request.stop.length > 0 ? { stop: request.stop } : {}),
      repeat_penalty: 1,
      cache_prompt: true,
      stream: streamed,
    };
    const started = performance.now();
    if (!streamed) {
      const reply = await this.connection.call('POST', path, body, signal).catch((err: unknown) => {
        if (signal.aborted) return undefined;
        throw err;
      });
      if (!reply) return cancelled(started);
      if (reply.status !== 200) throw replyError(path, reply);
      return toResult(reply.body as CompletionReply, started, maxTokens, false);
    }
    const stopper = new AbortController();
    const onAbort = (): void => stopper.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timer = timeLimited ? setTimeout(() => { timedOut = true; stopper.abort(); }, request.timeLimitMs) : undefined;
    let text = '';
    let firstAt: number | undefined;
    let tokens = 0;
    let final: CompletionReply | undefined;
    try {
      const reply = await this.connection.stream(path, body, (event) => {
        const chunk = event as CompletionReply;
        if (chunk.content) {
          firstAt ??= performance.now();
          text += chunk.content;
          onText?.(chunk.content);
        }
        if (!chunk.stop) tokens++;
        else final = chunk;
      }, stopper.signal).catch((err: unknown) => {
        if (stopper.signal.aborted) return undefined;
        throw err;
      });
      if (reply && reply.status !== 200) throw replyError(path, reply);
    } finally {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
    if (final) return { ...toResult({ ...final, content: text }, started, maxTokens, true), ttftMs: (firstAt ?? performance.now()) - started };
    const ended = performance.now();
    const first = firstAt ?? ended;
    return {
      text,
      stopReason: signal.aborted ? 'cancelled' : timedOut ? 'time-limit' : 'cancelled',
      promptTokens: 0,
      generatedTokens: Math.min(tokens, maxTokens),
      ttftMs: first - started,
      promptMs: first - started,
      generateMs: ended - first,
    };
  }
}

function toResult(reply: CompletionReply, started: number, maxTokens: number, streamed: boolean): GenerationResult {
  const t = reply.timings ?? {};
  const promptMs = t.prompt_ms ?? 0;
  const generateMs = t.predicted_ms ?? 0;
  const generated = reply.tokens_predicted ?? t.predicted_n ?? 0;
  const stopReason: StopReason = reply.stop_type === 'word' ? 'stop' : reply.stop_type === 'limit' ? (generated >= maxTokens ? 'max-tokens' : 'time-limit') : 'eos';
  const cached = t.cache_n ?? reply.tokens_cached;
  return {
    text: reply.content ?? '',
    stopReason,
    promptTokens: reply.tokens_evaluated ?? (t.prompt_n ?? 0) + (t.cache_n ?? 0),
    generatedTokens: Math.min(generated, maxTokens),
    // Non-streamed: llama-server's prompt phase ends with the first token; the wall time around it is ours.
    ttftMs: streamed ? promptMs : Math.min(performance.now() - started, promptMs + (generated > 0 ? generateMs / generated : 0)),
    promptMs,
    generateMs,
    ...(cached !== undefined ? { cachedTokens: cached } : {}),
  };
}

function cancelled(started: number): GenerationResult {
  const ms = performance.now() - started;
  return { text: '', stopReason: 'cancelled', promptTokens: 0, generatedTokens: 0, ttftMs: ms, promptMs: ms, generateMs: 0 };
}

function replyError(what: string, reply: HttpReply): SovereignError {
  const body = reply.body as { error?: { message?: string } } | string | undefined;
  const message = typeof body === 'string' ? body : body?.error?.message ?? JSON.stringify(body);
  return new SovereignError(`the native llama.cpp engine refused ${what} (HTTP ${reply.status}): ${message}`, 'see the engine log; --llama-cpp prebuilt uses node-llama-cpp instead');
}
