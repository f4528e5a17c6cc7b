/**
 * One chat turn against an OpenAI-compatible `/v1/chat/completions`, streamed (server-sent events), through
 * the egress guard. A target that is not in this process's care gets every message redacted first (the
 * secret and personal-data rules of src/core/redact). Cancellation aborts the HTTP request; `sovereign
 * serve` stops the engine's generation when its client goes away.
 */
import { guardedFetch, type GuardedFetchOptions } from '../net/egress';
import { redact } from '../redact';
import type { ChatMessage, ChatTarget, ChatTurnRequest, ChatTurnResult } from './types';

export interface ChatStreamOptions {
  signal?: AbortSignal;
  /** Each piece of answer text as it arrives. */
  onText?: (text: string) => void;
  /** The egress guard's options (policy endpoints, audit). */
  egress?: GuardedFetchOptions;
}

/** The messages as they will be sent: redacted unless the target is local. */
export function messagesFor(target: ChatTarget, messages: readonly ChatMessage[]): { messages: ChatMessage[]; redactions: number; kinds: string[] } {
  if (target.local) return { messages: messages.map((m) => ({ role: m.role, content: m.content })), redactions: 0, kinds: [] };
  let redactions = 0;
  const kinds = new Set<string>();
  const out = messages.map((m) => {
    const r = redact(m.content);
    redactions += r.count;
    for (const k of r.kinds) kinds.add(k);
    return { role: m.role, content: r.text };
  });
  return { messages: out, redactions, kinds: [...kinds].sort() };
}

function headers(target: ChatTarget): Record<string, string> {
  return { 'content-type': 'application/json', accept: 'text/event-stream', ...(target.apiKey ? { authorization: `Bearer ${target.apiKey}` } : {}) };
}

/** Streams one turn; resolves with the whole answer and its figures (a cancelled turn resolves too, `finish: 'cancelled'`). */
export async function streamChat(target: ChatTarget, request: ChatTurnRequest, options: ChatStreamOptions = {}): Promise<ChatTurnResult> {
  const sent = messagesFor(target, request.messages);
  const body = {
    ...(target.model ? { model: target.model } : {}),
    messages: sent.messages,
    stream: true,
    stream_options: { include_usage: true },
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.topP !== undefined ? { top_p: request.topP } : {}),
    ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
  };
  const started = performance.now();
  let firstAt: number | undefined;
  let text = '';
  let pieces = 0;
  let finish: ChatTurnResult['finish'] = 'stop';
  let promptTokens: number | undefined;
  let completionTokens: number | undefined;
  const result = (extra: Partial<ChatTurnResult> = {}): ChatTurnResult => {
    const ended = performance.now();
    const generated = completionTokens ?? pieces;
    return {
      text,
      finish,
      promptTokens,
      completionTokens,
      ttftMs: firstAt !== undefined ? firstAt - started : undefined,
      totalMs: ended - started,
      tokensPerSecond: firstAt !== undefined && generated > 1 && ended > firstAt ? (generated - 1) / ((ended - firstAt) / 1000) : undefined,
      redactions: sent.redactions,
      redactedKinds: sent.kinds,
      ...extra,
    };
  };
  try {
    const res = await guardedFetch(`${target.url.replace(/\/+$/, '')}/v1/chat/completions`, { method: 'POST', headers: headers(target), body: JSON.stringify(body), signal: options.signal }, options.egress);
    if (res.status !== 200 || !res.body) {
      const detail = await res.text().catch(() => '');
      finish = 'error';
      return result({ error: `${target.label} answered HTTP ${res.status}${errorText(detail) ? `: ${errorText(detail)}` : ''}` });
    }
    if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
      // A server that ignores `stream`: one JSON answer.
      const parsed = JSON.parse(await res.text()) as OpenAiChatAnswer;
      firstAt = performance.now();
      text = parsed.choices?.[0]?.message?.content ?? '';
      if (text) options.onText?.(text);
      finish = parsed.choices?.[0]?.finish_reason === 'length' ? 'length' : 'stop';
      promptTokens = parsed.usage?.prompt_tokens;
      completionTokens = parsed.usage?.completion_tokens;
      return result();
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, '');
        buffer = buffer.slice(newline + 1);
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') continue;
        let chunk: OpenAiChatChunk;
        try {
          chunk = JSON.parse(data) as OpenAiChatChunk;
        } catch {
          continue;
        }
        const piece = chunk.choices?.[0]?.delta?.content;
        if (typeof piece === 'string' && piece.length > 0) {
          firstAt ??= performance.now();
          pieces++;
          text += piece;
          options.onText?.(piece);
        }
        const reason = chunk.choices?.[0]?.finish_reason;
        if (reason) finish = reason === 'length' ? 'length' : 'stop';
        if (chunk.usage) {
          promptTokens = chunk.usage.prompt_tokens;
          completionTokens = chunk.usage.completion_tokens;
        }
        if (chunk.error) {
          finish = 'error';
          return result({ error: typeof chunk.error === 'string' ? chunk.error : chunk.error.message });
        }
      }
    }
    return result();
  } catch (err) {
    if (options.signal?.aborted) {
      finish = 'cancelled';
      return result();
    }
    finish = 'error';
    return result({ error: (err as Error).message });
  }
}

interface OpenAiChatChunk {
  choices?: { delta?: { content?: string }; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number };
  error?: string | { message: string };
}

interface OpenAiChatAnswer {
  choices?: { message?: { content?: string }; finish_reason?: string }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}

function errorText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: string | { message?: string } };
    const e = parsed.error;
    return (typeof e === 'string' ? e : e?.message ?? '').slice(0, 300);
  } catch {
    return body.slice(0, 300);
  }
}

/** What a server says about its model: its name and which chat template it renders (`sovereign serve`'s /v1/models). */
export interface ServedModelInfo {
  name: string;
  chat: boolean | undefined;
  chatTemplate: string | undefined;
  contextSize: number | undefined;
}

export async function servedModel(target: ChatTarget, options: { signal?: AbortSignal; egress?: GuardedFetchOptions } = {}): Promise<ServedModelInfo | undefined> {
  try {
    const res = await guardedFetch(`${target.url.replace(/\/+$/, '')}/v1/models`, { headers: headers(target), signal: options.signal ?? AbortSignal.timeout(5000) }, options.egress);
    if (res.status !== 200) {
      await res.body?.cancel();
      return undefined;
    }
    const list = (await res.json()) as { data?: { id?: string; meta?: { chat?: boolean; chat_template?: string; context_size?: number } }[] };
    const first = list.data?.[0];
    if (!first?.id) return undefined;
    return { name: first.id, chat: first.meta?.chat, chatTemplate: first.meta?.chat_template, contextSize: first.meta?.context_size };
  } catch {
    return undefined;
  }
}

/** Tokens the served model's own tokenizer makes of `text` (`POST /tokenize`); undefined when the server cannot say. */
export async function countTokens(target: ChatTarget, text: string, options: { signal?: AbortSignal; egress?: GuardedFetchOptions } = {}): Promise<number | undefined> {
  const content = target.local ? text : redact(text).text;
  try {
    const res = await guardedFetch(`${target.url.replace(/\/+$/, '')}/tokenize`, { method: 'POST', headers: headers(target), body: JSON.stringify({ content }), signal: options.signal }, options.egress);
    if (res.status !== 200) {
      await res.body?.cancel();
      return undefined;
    }
    const body = (await res.json()) as { count?: unknown; tokens?: unknown };
    if (typeof body.count === 'number') return body.count;
    if (Array.isArray(body.tokens)) return body.tokens.length; // llama-server answers the token ids
    return undefined;
  } catch {
    return undefined;
  }
}
