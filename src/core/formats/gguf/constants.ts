/**
 * GGUF and ggml constants, as defined by llama.cpp (gguf.h, ggml.h, ggml-common.h, llama.h,
 * llama-arch.cpp) in the source that node-llama-cpp 3.21.1 ships and builds.
 */

export const GGUF_MAGIC = 'GGUF';
/** Versions llama.cpp reads: 1 (32-bit counts) is refused by llama.cpp; 2 and 3 share one layout. */
export const GGUF_SUPPORTED_VERSIONS: ReadonlySet<number> = new Set([2, 3]);
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml tensors have at most 4 dimensions (GGML_MAX_DIMS). */
export const GGML_MAX_DIMS = 4;
/** Tensor names are stored in a 64-byte buffer including the NUL (GGML_MAX_NAME). */
export const GGML_MAX_NAME = 64;
/** llama.cpp's own caps on one string and one array (GGUF_MAX_STRING_LENGTH, GGUF_MAX_ARRAY_ELEMENTS). */
export const GGUF_MAX_STRING_LENGTH = 1024 * 1024 * 1024;
export const GGUF_MAX_ARRAY_ELEMENTS = 1024 * 1024 * 1024;
/** llama.cpp GGML_ASSERTs (aborts) outside these (llama-hparams.h). */
export const LLAMA_MAX_LAYERS = 512;
export const LLAMA_MAX_EXPERTS = 1024;
export const INT64_MAX = (1n << 63n) - 1n;
export const UINT64_MAX = (1n << 64n) - 1n;

/** GGUF metadata value types (enum gguf_type). */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

export const GGUF_VALUE_TYPE_NAMES: readonly string[] = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'string', 'array', 'u64', 'i64', 'f64'];

/** Bytes of one scalar of each type (strings: their 8-byte length prefix, the least they take). */
export const GGUF_VALUE_MIN_SIZE: readonly number[] = [1, 1, 2, 2, 4, 4, 4, 1, 8, 12, 8, 8, 8];

export function isIntegerValueType(t: number): boolean {
  return t <= GgufValueType.INT32 || t === GgufValueType.UINT64 || t === GgufValueType.INT64;
}

export interface GgmlTypeInfo {
  id: number;
  name: string;
  /** Elements per block (1 for plain types). */
  blockSize: number;
  /** Bytes per block. */
  typeSize: number;
  /** Removed from llama.cpp: files using it do not load. */
  removed?: string;
}

const T = (id: number, name: string, blockSize: number, typeSize: number): GgmlTypeInfo => ({ id, name, blockSize, typeSize });
const REMOVED = (id: number, name: string, why: string): GgmlTypeInfo => ({ id, name, blockSize: 0, typeSize: 0, removed: why });

/**
 * The full ggml type table (ggml.c type_traits; block sizes and sizeof(block_*) measured by compiling
 * ggml-common.h). Ids are stable; removed ids stay reserved.
 */
export const GGML_TYPES: ReadonlyMap<number, GgmlTypeInfo> = new Map(
  [
    T(0, 'F32', 1, 4),
    T(1, 'F16', 1, 2),
    T(2, 'Q4_0', 32, 18),
    T(3, 'Q4_1', 32, 20),
    REMOVED(4, 'Q4_2', 'support removed from llama.cpp'),
    REMOVED(5, 'Q4_3', 'support removed from llama.cpp'),
    T(6, 'Q5_0', 32, 22),
    T(7, 'Q5_1', 32, 24),
    T(8, 'Q8_0', 32, 34),
    T(9, 'Q8_1', 32, 36),
    T(10, 'Q2_K', 256, 84),
    T(11, 'Q3_K', 256, 110),
    T(12, 'Q4_K', 256, 144),
    T(13, 'Q5_K', 256, 176),
    T(14, 'Q6_K', 256, 210),
    T(15, 'Q8_K', 256, 292),
    T(16, 'IQ2_XXS', 256, 66),
    T(17, 'IQ2_XS', 256, 74),
    T(18, 'IQ3_XXS', 256, 98),
    T(19, 'IQ1_S', 256, 50),
    T(20, 'IQ4_NL', 32, 18),
    T(21, 'IQ3_S', 256, 110),
    T(22, 'IQ2_S', 256, 82),
    T(23, 'IQ4_XS', 256, 136),
    T(24, 'I8', 1, 1),
    T(25, 'I16', 1, 2),
    T(26, 'I32', 1, 4),
    T(27, 'I64', 1, 8),
    T(28, 'F64', 1, 8),
    T(29, 'IQ1_M', 256, 56),
    T(30, 'BF16', 1, 2),
    REMOVED(31, 'Q4_0_4_4', 'removed from GGUF files (use Q4_0 with runtime repacking)'),
    REMOVED(32, 'Q4_0_4_8', 'removed from GGUF files (use Q4_0 with runtime repacking)'),
    REMOVED(33, 'Q4_0_8_8', 'removed from GGUF files (use Q4_0 with runtime repacking)'),
    T(34, 'TQ1_0', 256, 54),
    T(35, 'TQ2_0', 256, 66),
    REMOVED(36, 'IQ4_NL_4_4', 'removed from GGUF files (use IQ4_NL with runtime repacking)'),
    REMOVED(37, 'IQ4_NL_4_8', 'removed from GGUF files (use IQ4_NL with runtime repacking)'),
    REMOVED(38, 'IQ4_NL_8_8', 'removed from GGUF files (use IQ4_NL with runtime repacking)'),
    T(39, 'MXFP4', 32, 17),
    T(40, 'NVFP4', 64, 36),
    T(41, 'Q1_0', 128, 18),
    T(42, 'Q2_0', 64, 18),
  ].map((t) => [t.id, t]),
);

/** `general.file_type` (enum llama_ftype) names; the quantization a model is known by. */
export const LLAMA_FILE_TYPES: ReadonlyMap<number, string> = new Map([
  [0, 'F32'], [1, 'F16'], [2, 'Q4_0'], [3, 'Q4_1'], [4, 'Q4_1_SOME_F16 (removed)'], [5, 'Q4_2 (removed)'], [6, 'Q4_3 (removed)'],
  [7, 'Q8_0'], [8, 'Q5_0'], [9, 'Q5_1'], [10, 'Q2_K'], [11, 'Q3_K_S'], [12, 'Q3_K_M'], [13, 'Q3_K_L'], [14, 'Q4_K_S'],
  [15, 'Q4_K_M'], [16, 'Q5_K_S'], [17, 'Q5_K_M'], [18, 'Q6_K'], [19, 'IQ2_XXS'], [20, 'IQ2_XS'], [21, 'Q2_K_S'],
  [22, 'IQ3_XS'], [23, 'IQ3_XXS'], [24, 'IQ1_S'], [25, 'IQ4_NL'], [26, 'IQ3_S'], [27, 'IQ3_M'], [28, 'IQ2_S'],
  [29, 'IQ2_M'], [30, 'IQ4_XS'], [31, 'IQ1_M'], [32, 'BF16'], [33, 'Q4_0_4_4 (removed)'], [34, 'Q4_0_4_8 (removed)'],
  [35, 'Q4_0_8_8 (removed)'], [36, 'TQ1_0'], [37, 'TQ2_0'], [38, 'MXFP4_MOE'], [39, 'NVFP4'], [40, 'Q1_0'], [41, 'Q2_0'],
  [1024, 'GUESSED'],
]);

/** Architectures llama.cpp knows (llama-arch.cpp LLM_ARCH_NAMES). Anything else does not load. */
export const LLAMA_CPP_ARCHITECTURES: ReadonlySet<string> = new Set(
  (
    'clip llama llama4 deci falcon grok gpt2 gptj gptneox mpt baichuan starcoder refact bert modern-bert nomic-bert ' +
    'nomic-bert-moe neo-bert jina-bert-v2 jina-bert-v3 eurobert bloom stablelm qwen qwen2 qwen2moe qwen2vl qwen3 qwen3moe ' +
    'qwen3next qwen3vl qwen3vlmoe qwen35 qwen35moe qwen4exp phi2 phi3 phimoe plamo plamo2 plamo3 codeshell orion internlm2 ' +
    'minicpm minicpm3 gemma gemma2 gemma3 gemma3n gemma4 gemma4-assistant gemma-embedding starcoder2 mamba mamba2 jamba ' +
    'falcon-h1 xverse command-r cohere2 cohere2moe dbrx olmo olmo2 olmoe muse-glimmer openelm arctic deepseek deepseek2 ' +
    'deepseek2-ocr deepseek32 deepseek4 chatglm glm4 glm4moe glm-dsa bitnet t5 t5encoder jais jais2 nemotron nemotron_h ' +
    'nemotron_h_moe exaone exaone4 exaone-moe rwkv6 rwkv6qwen2 rwkv7 arwkv7 granite granitemoe granitehybrid graniteswitch ' +
    'granite_swa chameleon wavtokenizer-dec plm bailingmoe bailingmoe2 bailingmoe3 dots1 dots3note arcee afmoe laguna ' +
    'ernie4_5 ernie4_5-moe hunyuan-moe hunyuan-dense hunyuan_vl hy_v3 smollm3 gpt-oss lfm2 lfm2moe dream smallthinker llada ' +
    'llada-moe seed_oss grovemoe apertus minimax-01 minimax-m2 minimax-m3 cogvlm rnd1 pangu-embedded mistral3 eagle3 dflash ' +
    'mistral4 paddleocr mimo2 step35 llama-embed maincoder kimi-linear kimi-k3 talkie mellum nanbeige qwen3tts pockettts'
  ).split(' '),
);

/** Special token id keys (`tokenizer.ggml.<name>_token_id`), incl. the old FIM aliases. */
export const SPECIAL_TOKEN_KEYS: readonly string[] = [
  'bos', 'eos', 'eot', 'eom', 'unknown', 'separator', 'padding', 'mask', 'cls',
  'fim_pre', 'fim_suf', 'fim_mid', 'fim_pad', 'fim_rep', 'fim_sep',
  'prefix', 'suffix', 'middle',
].map((n) => `tokenizer.ggml.${n}_token_id`);
