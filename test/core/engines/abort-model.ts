/**
 * A llama GGUF whose tensors are all consistent with its metadata, but with 4 attention heads over 3 KV heads:
 * llama.cpp cannot broadcast the grouped-query attention and hits GGML_ASSERT(ggml_can_mul_mat(k, q)) while it
 * reserves the compute graph, which aborts the process (SIGABRT, status 134). A structurally valid file that
 * kills its loader: exactly what the supervised engine process exists for.
 */
import { writeRandomLlama } from '../../fixtures/gguf/random-llama';

export async function writeAbortingLlama(path: string): Promise<void> {
  await writeRandomLlama(path, { name: 'gqa-mismatch', embd: 64, layers: 1, heads: 4, kvHeads: 3, ffn: 128, contextLength: 256, seed: 7, scale: 0.1, weightType: 'F32' });
}
