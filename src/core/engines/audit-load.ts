import { appendAudit } from '../audit/log';
import type { ModelDescription } from './types';
import type { ValidatedModel } from './validate';

/**
 * The `model-load` audit entry, the same wherever a model is loaded (an engine opened by bench/eval, the
 * serving runtime): which digest, which runtime, how long, on what hardware. Metadata only.
 */
export async function auditModelLoad(
  workspaceRoot: string,
  subject: string,
  model: Pick<ValidatedModel, 'sha256' | 'format'>,
  description: ModelDescription,
  endpoint?: string,
): Promise<void> {
  await appendAudit(workspaceRoot, {
    action: 'model-load',
    subject,
    details: {
      digest: `sha256:${model.sha256}`,
      engine: description.kind === 'gguf' ? `llama.cpp ${description.versions['llama.cpp']}` : `onnxruntime ${description.versions.onnxruntime}`,
      format: model.format,
      loadMs: Math.round(description.loadMs),
      threads: description.threads,
      gpu: description.gpu ?? (description.executionProviders?.includes('cuda') ? 'cuda' : false),
      status: 'ok',
      ...(endpoint ? { endpoint } : {}),
    },
  });
}
