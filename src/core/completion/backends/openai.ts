import { findFimTemplate, buildFimPrompt } from '../../fim/templates';
import { postJson, type HttpTransport } from '../http';
import { NoFimSupportError, fullPrefix, fullSuffix, type BackendRequest, type BackendResult, type CompletionBackend } from '../types';
import { trimSlash } from './llama-server';

interface CompletionsReply {
  choices?: { text?: string }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number };
  timings?: { predicted_per_second?: number; predicted_ms?: number; prompt_ms?: number };
}

/**
 * Any OpenAI-compatible `/v1/completions`. Mode `suffix` sends the prefix as `prompt` and the suffix as
 * `suffix` (the server applies FIM: `sovereign serve`, vLLM with suffix support; the bundled llama-server ignores it); mode
 * `template` builds the raw FIM prompt from the model family's template (for servers that ignore `suffix`).
 */
export class OpenAiBackend implements CompletionBackend {
  readonly kind = 'openai' as const;
  readonly label: string;

  constructor(
    readonly baseUrl: string,
    private readonly model: string,
    private readonly transport: HttpTransport,
    private readonly mode: 'suffix' | 'template' = 'suffix',
    private readonly headers?: Record<string, string>,
  ) {
    this.label = `OpenAI-compatible ${model} @ ${baseUrl}`;
  }

  async complete(req: BackendRequest, signal: AbortSignal): Promise<BackendResult> {
    const prefix = fullPrefix(req.context);
    const suffix = fullSuffix(req.context);
    let body: Record<string, unknown>;
    let stop = req.stop;
    if (this.mode === 'template') {
      const template = findFimTemplate({ names: [this.model] });
      if (!template) throw new NoFimSupportError(this.label, `no FIM template is known for model "${this.model}"`);
      body = { model: this.model, prompt: buildFimPrompt(template, { prefix, suffix, extra: req.context.extra }) };
      stop = [...stop, ...template.stop];
    } else {
      body = { model: this.model, prompt: prefix, suffix };
    }
    const started = Date.now();
    const reply = (await postJson(
      this.transport,
      `${trimSlash(this.baseUrl)}/v1/completions`,
      { ...body, max_tokens: req.maxTokens, temperature: req.temperature, stop: stop.slice(0, 4), stream: false },
      signal,
      this.headers,
    )) as CompletionsReply;
    const elapsed = Date.now() - started;
    const tokens = reply.usage?.completion_tokens;
    return {
      text: reply.choices?.[0]?.text ?? '',
      timings: {
        predictedTokens: tokens,
        predictedMs: reply.timings?.predicted_ms ?? elapsed,
        tokensPerSecond: reply.timings?.predicted_per_second ?? (tokens && elapsed ? (tokens * 1000) / elapsed : undefined),
      },
    };
  }
}
