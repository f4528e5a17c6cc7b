import { postJson, type HttpTransport } from '../http';
import { fullPrefix, fullSuffix, type BackendRequest, type BackendResult, type CompletionBackend } from '../types';
import { trimSlash } from './llama-server';

interface GenerateReply {
  response?: string;
  eval_count?: number;
  eval_duration?: number; // ns
  prompt_eval_count?: number;
  prompt_eval_duration?: number; // ns
}

/** Ollama's `/api/generate` with `suffix`: Ollama applies the model's FIM template itself. */
export class OllamaBackend implements CompletionBackend {
  readonly kind = 'ollama' as const;
  readonly label: string;

  constructor(
    readonly baseUrl: string,
    private readonly model: string,
    private readonly transport: HttpTransport,
  ) {
    this.label = `Ollama ${model} @ ${baseUrl}`;
  }

  async complete(req: BackendRequest, signal: AbortSignal): Promise<BackendResult> {
    const reply = (await postJson(
      this.transport,
      `${trimSlash(this.baseUrl)}/api/generate`,
      {
        model: this.model,
        prompt: fullPrefix(req.context),
        suffix: fullSuffix(req.context),
        stream: false,
        options: { num_predict: req.maxTokens, temperature: req.temperature, stop: req.stop },
        keep_alive: '10m',
      },
      signal,
    )) as GenerateReply;
    const evalMs = reply.eval_duration !== undefined ? reply.eval_duration / 1e6 : undefined;
    return {
      text: reply.response ?? '',
      timings: {
        promptTokens: reply.prompt_eval_count,
        promptMs: reply.prompt_eval_duration !== undefined ? reply.prompt_eval_duration / 1e6 : undefined,
        predictedTokens: reply.eval_count,
        predictedMs: evalMs,
        tokensPerSecond: reply.eval_count && evalMs ? (reply.eval_count * 1000) / evalMs : undefined,
      },
    };
  }
}
