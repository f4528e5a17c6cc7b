/**
 * A llama GGUF whose tensors are all consistent with its metadata, but with 4 attention heads over 3 KV heads:
 * llama.cpp cannot broadcast the grouped-query attention and hits GGML_ASSERT(ggml_can_mul_mat(k, q)) while it
 * reserves the compute graph, which aborts the process (SIGABRT, status 134). A structurally valid file that
 * kills its loader: exactly what the supervised engine process exists for.
 */
import { writeFile } from 'node:fs/promises';
import { buildGguf, type GgufWriteTensor, type GgufWriteValue } from '../../fixtures/gguf/writer';

export async function writeAbortingLlama(path: string): Promise<void> {
  const embd = 64, heads = 4, kvHeads = 3, ffn = 128, layers = 1;
  const headDim = embd / heads;
  const bytes = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  const tokens = ['<unk>', '<s>', '</s>', ...bytes, ...'abcdefghijklmnopqrstuvwxyz'.split(''), '\u2581'];
  const u32 = (value: number): GgufWriteValue => ({ type: 'u32', value });
  const kv: [string, GgufWriteValue][] = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: 'gqa-mismatch' }],
    ['llama.context_length', u32(256)],
    ['llama.embedding_length', u32(embd)],
    ['llama.block_count', u32(layers)],
    ['llama.feed_forward_length', u32(ffn)],
    ['llama.attention.head_count', u32(heads)],
    ['llama.attention.head_count_kv', u32(kvHeads)],
    ['llama.rope.dimension_count', u32(headDim)],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: 1e-5 }],
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', values: tokens }],
    ['tokenizer.ggml.scores', { type: 'array', itemType: 'f32', values: tokens.map((_, i) => -i) }],
    ['tokenizer.ggml.token_type', { type: 'array', itemType: 'i32', values: tokens.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1)) }],
    ['tokenizer.ggml.bos_token_id', u32(1)],
    ['tokenizer.ggml.eos_token_id', u32(2)],
  ];
  let seed = 7;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff - 0.5) * 0.1;
  const tensor = (name: string, dims: number[], fill: () => number = random): GgufWriteTensor => {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = fill();
    return { name, dims, type: 'F32', data };
  };
  const tensors: GgufWriteTensor[] = [tensor('token_embd.weight', [embd, tokens.length]), tensor('output_norm.weight', [embd], () => 1)];
  for (let l = 0; l < layers; l++) {
    tensors.push(
      tensor(`blk.${l}.attn_norm.weight`, [embd], () => 1),
      tensor(`blk.${l}.attn_q.weight`, [embd, embd]),
      tensor(`blk.${l}.attn_k.weight`, [embd, headDim * kvHeads]),
      tensor(`blk.${l}.attn_v.weight`, [embd, headDim * kvHeads]),
      tensor(`blk.${l}.attn_output.weight`, [embd, embd]),
      tensor(`blk.${l}.ffn_norm.weight`, [embd], () => 1),
      tensor(`blk.${l}.ffn_gate.weight`, [embd, ffn]),
      tensor(`blk.${l}.ffn_up.weight`, [embd, ffn]),
      tensor(`blk.${l}.ffn_down.weight`, [ffn, embd]),
    );
  }
  await writeFile(path, buildGguf({ kv, tensors }).bytes);
}
