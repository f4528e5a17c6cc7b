/**
 * The metadata each architecture's llama.cpp loader requires (llama-model.cpp load_hparams and
 * src/models/<arch>.cpp load_arch_hparams).
 *
 * Two kinds of "required": a missing `ml.get_key(...)` makes llama.cpp throw and refuse the file (high),
 * but some missing or zero values go on to a GGML_ASSERT that ABORTS the whole process (critical),
 * e.g. a missing `llama.feed_forward_length` or `llama.attention.head_count` creates a tensor with a zero
 * dimension: `GGML_ASSERT(t_meta.ne[dim] >= 1)` (exit 134, measured with node-llama-cpp 3.21.1).
 */

export type NormEps = 'attention.layer_norm_rms_epsilon' | 'attention.layer_norm_epsilon';
const RMS: NormEps = 'attention.layer_norm_rms_epsilon';
const LN: NormEps = 'attention.layer_norm_epsilon';

export interface ArchRequirements {
  /** The norm epsilon key the loader reads without a default. */
  eps: NormEps;
  /** Dense FFN tensors are created from `feed_forward_length`: zero or missing aborts. False for pure MoE. */
  denseFfn: boolean;
  /** Further keys read without a default (suffixes after `<arch>.`). */
  extra?: readonly string[];
}

/** Keys every transformer loader reads without a default (suffixes after `<arch>.`). */
export const COMMON_REQUIRED_KEYS: readonly string[] = ['context_length', 'embedding_length', 'block_count'];

/** Architectures whose requirements we check. Others known to llama.cpp are analysed without this table. */
export const ARCH_REQUIREMENTS: ReadonlyMap<string, ArchRequirements> = new Map<string, ArchRequirements>([
  // llama also carries Mistral, Mixtral, CodeLlama, TinyLlama, SmolLM...
  ['llama', { eps: RMS, denseFfn: true }],
  ['mistral3', { eps: RMS, denseFfn: true }],
  ['qwen', { eps: RMS, denseFfn: true }],
  ['qwen2', { eps: RMS, denseFfn: true }],
  ['qwen2vl', { eps: RMS, denseFfn: true }],
  ['qwen2moe', { eps: RMS, denseFfn: false }],
  ['qwen3', { eps: RMS, denseFfn: true }],
  ['qwen3moe', { eps: RMS, denseFfn: false }],
  ['gemma', { eps: RMS, denseFfn: true }],
  ['gemma2', { eps: RMS, denseFfn: true }],
  ['gemma3', { eps: RMS, denseFfn: true }],
  ['phi3', { eps: RMS, denseFfn: true }],
  ['phi2', { eps: LN, denseFfn: true }],
  ['starcoder', { eps: LN, denseFfn: true }],
  ['starcoder2', { eps: LN, denseFfn: true }],
  ['gpt2', { eps: LN, denseFfn: true }],
  ['falcon', { eps: LN, denseFfn: true }],
  ['command-r', { eps: LN, denseFfn: true }],
  ['stablelm', { eps: LN, denseFfn: true }],
  ['internlm2', { eps: RMS, denseFfn: true }],
  ['olmo2', { eps: RMS, denseFfn: true }],
  ['exaone', { eps: RMS, denseFfn: true }],
  ['granite', { eps: RMS, denseFfn: true, extra: ['logit_scale'] }],
  ['deepseek2', { eps: RMS, denseFfn: false, extra: ['attention.kv_lora_rank', 'expert_feed_forward_length', 'expert_shared_count'] }],
]);
