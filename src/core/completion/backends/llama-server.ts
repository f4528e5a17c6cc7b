import { BackendHttpError, postJson, type HttpTransport } from '../http';
import { NoFimSupportError, type BackendKind, type BackendRequest, type BackendResult, type CompletionBackend } from '../types';

interface InfillReply {
  content?: string;
  timings?: { prompt_n?: number; prompt_ms?: number; predicted_n?: number; predicted_ms?: number; predicted_per_second?: number };
}

/**
 * llama-server's `/infill` (and `sovereign serve`'s, which speaks the same protocol): the server builds
 * the FIM prompt from the model's own FIM tokens. The cursor line goes in `prompt`, the lines above in
 * `input_prefix`, as llama.vscode sends them, so the server's prompt cache reuses the unchanged part.
 */
export class InfillBackend implements CompletionBackend {
  constructor(
    readonly baseUrl: string,
    private readonly transport: HttpTransport,
    readonly kind: BackendKind = 'llama-server',
    readonly label = `llama-server ${baseUrl}`,
    private readonly headers?: Record<string, string>,
  ) {}

  async complete(req: BackendRequest, signal: AbortSignal): Promise<BackendResult> {
    const c = req.context;
    const body = {
      input_prefix: c.prefixAbove,
      input_suffix: c.lineSuffix + (c.suffixBelow ? '\n' + c.suffixBelow : ''),
      input_extra: c.extra.map((e) => ({ filename: e.filename, text: e.text })),
      prompt: c.linePrefix,
      n_predict: req.maxTokens,
      t_max_predict_ms: req.maxTimeMs,
      temperature: req.temperature,
      stop: req.stop,
      cache_prompt: true,
      samplers: ['top_k', 'top_p', 'infill'],
      top_k: 40,
      top_p: 0.99,
    };
    let reply: InfillReply;
    try {
      reply = (await postJson(this.transport, `${trimSlash(this.baseUrl)}/infill`, body, signal, this.headers)) as InfillReply;
    } catch (err) {
      // llama-server answers 501 (or 400/404 on older builds) when the model has no FIM tokens.
      if (err instanceof BackendHttpError && (err.status === 501 || /infill|fim/i.test(err.message))) throw new NoFimSupportError(this.label, err.message);
      throw err;
    }
    const t = reply.timings;
    return {
      text: typeof reply.content === 'string' ? reply.content : '',
      timings: t && { promptTokens: t.prompt_n, promptMs: t.prompt_ms, predictedTokens: t.predicted_n, predictedMs: t.predicted_ms, tokensPerSecond: t.predicted_per_second },
    };
  }
}

export function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
