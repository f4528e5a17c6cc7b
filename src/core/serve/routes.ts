/**
 * Request handlers: OpenAI-compatible completions, chat and embeddings, llama-server's /infill, and
 * /v1/predict for ONNX models. Each one turns a JSON body into an engine request and its result into the
 * wire format the clients of those APIs expect (streaming as server-sent events).
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { EngineSupervisor } from '../engines/supervisor';
import type { GenerationResult, JsonTensor, ModelDescription, SamplingOptions, StopReason } from '../engines/types';
import { HttpError, optionalBoolean, optionalNumber, optionalString, sendJson, SseStream, stopList } from './http-util';

export interface RouteContext {
  engine: EngineSupervisor;
  model: ModelDescription;
  body: Record<string, unknown>;
  res: ServerResponse;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
  onGeneration: (result: GenerationResult) => void;
  /** The comparable output of the answer (the whole text, also when streamed; predict outputs as JSON): shadow traffic compares it. */
  onOutput?: (output: string) => void;
}

const MAX_TOKENS_LIMIT = 32768;

function finishReason(reason: StopReason): string {
  return reason === 'max-tokens' || reason === 'time-limit' ? 'length' : 'stop';
}

function sampling(body: Record<string, unknown>, defaults: { maxTokens: number; temperature: number }, maxKey = 'max_tokens'): SamplingOptions {
  const maxTokens = optionalNumber(body, maxKey, -1, MAX_TOKENS_LIMIT);
  return {
    maxTokens: maxTokens === undefined || maxTokens < 0 ? defaults.maxTokens : Math.floor(maxTokens),
    temperature: optionalNumber(body, 'temperature', 0, 5) ?? defaults.temperature,
    topP: optionalNumber(body, 'top_p', 0, 1),
    topK: optionalNumber(body, 'top_k', 0, 1_000_000),
    seed: optionalNumber(body, 'seed'),
    stop: stopList(body),
  };
}

function needGguf(model: ModelDescription): void {
  if (model.kind !== 'gguf') throw new HttpError(400, `${model.name} is an ONNX model: use POST /v1/predict`);
}

function usage(r: GenerationResult): Record<string, number> {
  return { prompt_tokens: r.promptTokens, completion_tokens: r.generatedTokens, total_tokens: r.promptTokens + r.generatedTokens };
}

/** POST /v1/completions (OpenAI). With `suffix`, the prompt and the suffix are filled in the middle. */
export async function completions(ctx: RouteContext): Promise<void> {
  needGguf(ctx.model);
  const { body } = ctx;
  let prompt = body.prompt;
  if (Array.isArray(prompt) && prompt.length === 1) prompt = prompt[0];
  if (typeof prompt !== 'string') throw new HttpError(400, '"prompt" must be a string (one prompt per request)');
  const suffix = optionalString(body, 'suffix');
  const options = sampling(body, { maxTokens: 16, temperature: 0.8 });
  const stream = optionalBoolean(body, 'stream') ?? false;
  const id = `cmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (text: string, finish: string | null): unknown => ({ id, object: 'text_completion', created, model: ctx.model.name, choices: [{ text, index: 0, logprobs: null, finish_reason: finish }] });
  const sse = stream ? new SseStream(ctx.res) : undefined;
  const onToken = sse ? (text: string) => sse.send(chunk(text, null)) : undefined;
  const result = suffix !== undefined
    ? await ctx.engine.infill({ ...options, prefix: prompt, suffix }, { signal: ctx.signal, onToken })
    : await ctx.engine.complete({ ...options, prompt }, { signal: ctx.signal, onToken });
  ctx.onGeneration(result);
  ctx.onOutput?.(result.text);
  if (sse) {
    sse.send({ ...(chunk('', finishReason(result.stopReason)) as object), usage: usage(result) });
    sse.send('[DONE]');
    sse.end();
    return;
  }
  sendJson(ctx.res, 200, { ...(chunk(result.text, finishReason(result.stopReason)) as object), usage: usage(result) });
}

/** POST /v1/chat/completions (OpenAI), for models with a chat template. */
export async function chatCompletions(ctx: RouteContext): Promise<void> {
  needGguf(ctx.model);
  if (!ctx.model.hasChatTemplate) throw new HttpError(400, `${ctx.model.name} has no chat template: use /v1/completions`);
  const messages = ctx.body.messages;
  if (!Array.isArray(messages) || messages.length === 0) throw new HttpError(400, '"messages" must be a non-empty list');
  for (const m of messages) {
    const ok = typeof m === 'object' && m !== null && ['system', 'user', 'assistant'].includes((m as { role?: string }).role ?? '') && typeof (m as { content?: unknown }).content === 'string';
    if (!ok) throw new HttpError(400, 'each message needs a role (system, user, assistant) and a string content');
  }
  const options = sampling(ctx.body, { maxTokens: 256, temperature: 0.8 });
  const stream = optionalBoolean(ctx.body, 'stream') ?? false;
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const sse = stream ? new SseStream(ctx.res) : undefined;
  const delta = (content: string | undefined, finish: string | null): unknown => ({
    id, object: 'chat.completion.chunk', created, model: ctx.model.name,
    choices: [{ index: 0, delta: content === undefined ? {} : { role: 'assistant', content }, finish_reason: finish }],
  });
  const result = await ctx.engine.chat({ ...options, messages: messages as never }, { signal: ctx.signal, onToken: sse ? (t) => sse.send(delta(t, null)) : undefined });
  ctx.onGeneration(result);
  ctx.onOutput?.(result.text);
  if (sse) {
    sse.send({ ...(delta(undefined, finishReason(result.stopReason)) as object), usage: usage(result) });
    sse.send('[DONE]');
    sse.end();
    return;
  }
  sendJson(ctx.res, 200, {
    id, object: 'chat.completion', created, model: ctx.model.name,
    choices: [{ index: 0, message: { role: 'assistant', content: result.text }, finish_reason: finishReason(result.stopReason) }],
    usage: usage(result),
  });
}

/** POST /infill (llama-server): what llama.vscode and other FIM clients call. */
export async function infill(ctx: RouteContext): Promise<void> {
  needGguf(ctx.model);
  const { body } = ctx;
  if (ctx.model.infill === 'none') throw new HttpError(501, `${ctx.model.name} has no fill-in-the-middle support (no FIM tokens, no known template)`);
  const extraRaw = body.input_extra ?? [];
  if (!Array.isArray(extraRaw) || !extraRaw.every((e) => typeof e === 'object' && e !== null && typeof (e as { text?: unknown }).text === 'string')) {
    throw new HttpError(400, '"input_extra" must be a list of {filename, text}');
  }
  const extra = (extraRaw as { filename?: unknown; text: string }[]).map((e) => ({ filename: typeof e.filename === 'string' ? e.filename : undefined, text: e.text }));
  const options = sampling(body, { maxTokens: 128, temperature: 0 }, 'n_predict');
  const timeLimit = optionalNumber(body, 't_max_predict_ms', 0, 600_000);
  optionalBoolean(body, 'cache_prompt'); // accepted: sequences keep their evaluated prefix anyway
  const stream = optionalBoolean(body, 'stream') ?? false;
  const sse = stream ? new SseStream(ctx.res) : undefined;
  const result = await ctx.engine.infill(
    {
      ...options,
      prefix: optionalString(body, 'input_prefix') ?? '',
      suffix: optionalString(body, 'input_suffix') ?? '',
      prompt: optionalString(body, 'prompt') ?? '',
      extra,
      timeLimitMs: timeLimit && timeLimit > 0 ? timeLimit : undefined,
    },
    { signal: ctx.signal, onToken: sse ? (t) => sse.send({ content: t, stop: false }) : undefined },
  );
  ctx.onGeneration(result);
  ctx.onOutput?.(result.text);
  const final = {
    content: sse ? '' : result.text,
    stop: true,
    model: ctx.model.name,
    tokens_predicted: result.generatedTokens,
    tokens_evaluated: result.promptTokens,
    ...(result.cachedTokens !== undefined ? { tokens_cached: result.cachedTokens } : {}),
    stop_type: result.stopReason === 'eos' ? 'eos' : result.stopReason === 'stop' ? 'word' : result.stopReason === 'cancelled' ? 'none' : 'limit',
    timings: llamaTimings(result),
  };
  if (sse) {
    sse.send(final);
    sse.end();
    return;
  }
  sendJson(ctx.res, 200, final);
}

/** llama-server's `timings` object. */
export function llamaTimings(r: GenerationResult): Record<string, number> {
  const perSecond = (n: number, ms: number): number => (ms > 0 ? (n / ms) * 1000 : 0);
  const predictedN = Math.max(0, r.generatedTokens - 1);
  return {
    prompt_n: r.promptTokens,
    prompt_ms: r.promptMs,
    prompt_per_token_ms: r.promptTokens > 0 ? r.promptMs / r.promptTokens : 0,
    prompt_per_second: perSecond(r.promptTokens, r.promptMs),
    predicted_n: r.generatedTokens,
    predicted_ms: r.generateMs,
    predicted_per_token_ms: predictedN > 0 ? r.generateMs / predictedN : 0,
    predicted_per_second: perSecond(predictedN, r.generateMs),
  };
}

/** POST /v1/embeddings (OpenAI). */
export async function embeddings(ctx: RouteContext): Promise<void> {
  needGguf(ctx.model);
  const input = ctx.body.input;
  const texts = typeof input === 'string' ? [input] : Array.isArray(input) && input.length <= 256 && input.every((s) => typeof s === 'string') ? (input as string[]) : undefined;
  if (!texts) throw new HttpError(400, '"input" must be a string or a list of at most 256 strings');
  const result = await ctx.engine.embed(texts, { signal: ctx.signal });
  sendJson(ctx.res, 200, {
    object: 'list',
    model: ctx.model.name,
    data: result.vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
    usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
  });
}

/**
 * POST /tokenize (llama-server's route): `{"content": "..."}` -> `{"count": N}`, the number of tokens the
 * model's own tokenizer makes of the text (what VS Code's language-model API asks to count). Only the count:
 * token ids are the engine's business.
 */
export async function tokenize(ctx: RouteContext): Promise<void> {
  needGguf(ctx.model);
  const content = optionalString(ctx.body, 'content');
  if (content === undefined) throw new HttpError(400, '"content" must be a string');
  sendJson(ctx.res, 200, { count: await ctx.engine.tokenCount(content) });
}

/** POST /v1/predict: JSON tensors in, JSON tensors out (ONNX models). */
export async function predict(ctx: RouteContext): Promise<void> {
  if (ctx.model.kind !== 'onnx') throw new HttpError(400, `${ctx.model.name} is a GGUF model: use /v1/completions`);
  const inputs = ctx.body.inputs;
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
    throw new HttpError(400, '"inputs" must be an object of tensors: {"NAME": {"type": "float32", "dims": [1, 8], "data": [...]}}');
  }
  const outputs = ctx.body.outputs;
  if (outputs !== undefined && !(Array.isArray(outputs) && outputs.every((o) => typeof o === 'string'))) throw new HttpError(400, '"outputs" must be a list of output names');
  const result = await ctx.engine.predict(inputs as Record<string, JsonTensor>, outputs as string[] | undefined, { signal: ctx.signal });
  ctx.onOutput?.(JSON.stringify(result.outputs));
  sendJson(ctx.res, 200, { model: ctx.model.name, outputs: result.outputs, run_ms: result.runMs });
}

export function modelsList(model: ModelDescription, created: number): unknown {
  return {
    object: 'list',
    data: [{
      id: model.name,
      object: 'model',
      created,
      owned_by: 'sovereign',
      meta: {
        kind: model.kind,
        architecture: model.architecture,
        context_size: model.contextSize,
        parallel: model.sequences,
        infill: model.infill,
        chat: model.hasChatTemplate,
        chat_template: model.chatTemplate,
        inputs: model.inputs,
        outputs: model.outputs,
        threads: model.threads,
        gpu: model.gpu,
        gpu_layers: model.gpuLayers,
        total_layers: model.totalLayers,
        versions: model.versions,
        llama_cpp: model.llamaCpp?.build,
      },
    }],
  };
}
