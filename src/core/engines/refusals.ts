/**
 * What both GGUF engines (node-llama-cpp's and the native llama-server) refuse, and the infill prompt they
 * build by template for a code model without FIM tokens: one wording, one layout.
 */
import { buildFimPrompt, type FimTemplate } from '../fim/templates';
import { RefusedError } from '../util/errors';
import type { CompletionRequest, InfillRequest } from './types';

export function cannotFillInTheMiddle(modelName: string): RefusedError {
  return new RefusedError(
    `${modelName} cannot fill in the middle: it has no FIM tokens and matches no known code model family`,
    'use a base code model (Qwen2.5-Coder, StarCoder2, CodeLlama 7B/13B, DeepSeek-Coder, CodeGemma, Codestral)',
  );
}

export function hasNoChatTemplate(modelName: string): RefusedError {
  return new RefusedError(
    `${modelName} has no chat template (tokenizer.chat_template): its chat format is unknown, so it cannot chat`,
    'use /v1/completions with a plain prompt, or a model whose GGUF carries a chat template',
  );
}

/** An infill request as a plain completion of the family's FIM prompt, stopping at the family's stop strings. */
export function templateInfill(template: FimTemplate, request: InfillRequest): CompletionRequest {
  const prompt = buildFimPrompt(template, { prefix: request.prompt ? request.prefix + request.prompt : request.prefix, suffix: request.suffix, extra: request.extra });
  return { ...request, prompt, stop: [...template.stop, ...(request.stop ?? [])] };
}
