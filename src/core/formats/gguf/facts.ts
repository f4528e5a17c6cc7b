import { GGML_TYPES, LLAMA_FILE_TYPES } from './constants';
import { isGgufArray, kvInteger, kvString, type GgufHeader } from './header';
import { elementCount } from './validate';

/** FIM token ids, from metadata (`tokenizer.ggml.fim_*_token_id`, old aliases) or known token texts. */
export interface GgufFimTokens {
  pre?: number;
  suf?: number;
  mid?: number;
  pad?: number;
  rep?: number;
  sep?: number;
}

/** What a GGUF header says about the model: for `inspect`, the registry, engines and completion. */
export interface GgufFacts {
  version: number;
  architecture?: string;
  name?: string;
  /** Sum of tensor element counts. */
  parameterCount: number;
  /** `general.file_type` and its llama.cpp name (e.g. 15 = Q4_K_M). */
  fileType?: number;
  fileTypeName?: string;
  /** The file type name, or else the ggml type holding most parameters. */
  quantization?: string;
  /** Tensor count per ggml type name. */
  tensorTypes: Record<string, number>;
  contextLength?: number;
  embeddingLength?: number;
  blockCount?: number;
  feedForwardLength?: number;
  headCount?: number;
  headCountKv?: number;
  expertCount?: number;
  expertUsedCount?: number;
  vocabSize?: number;
  tokenizerModel?: string;
  bosTokenId?: number;
  eosTokenId?: number;
  eotTokenId?: number;
  fimTokens: GgufFimTokens;
  /** Where the FIM ids came from: the metadata keys, or token texts llama.cpp also recognises. */
  fimSource?: 'metadata' | 'token-text';
  /** Prefix, suffix and middle tokens are all known: the model can fill in the middle. */
  fim: boolean;
  /** The FIM token texts, e.g. `<|fim_prefix|>`, for building prompts by hand. */
  fimTokenTexts: Partial<Record<keyof GgufFimTokens, string>>;
  chatTemplate: boolean;
  tensorCount: number;
  dataOffset: number;
  alignment: number;
  metadataKeyCount: number;
  headerBytes: number;
}

const FIM_KEYS: Record<keyof GgufFimTokens, readonly string[]> = {
  pre: ['fim_pre', 'prefix'],
  suf: ['fim_suf', 'suffix'],
  mid: ['fim_mid', 'middle'],
  pad: ['fim_pad'],
  rep: ['fim_rep'],
  sep: ['fim_sep'],
};

/** Token texts llama.cpp (llama-vocab.cpp) recognises as FIM tokens when the metadata has no ids. */
const FIM_TEXTS: Record<keyof GgufFimTokens, readonly string[]> = {
  pre: ['<|fim_prefix|>', '<fim-prefix>', '<fim_prefix>', '<｜fim▁begin｜>', '<PRE>', '▁<PRE>', '<|code_prefix|>', '<|prefix|>'],
  suf: ['<|fim_suffix|>', '<fim-suffix>', '<fim_suffix>', '<｜fim▁hole｜>', '<SUF>', '▁<SUF>', '<|code_suffix|>', '<|suffix|>'],
  mid: ['<|fim_middle|>', '<fim-middle>', '<fim_middle>', '<｜fim▁end｜>', '<MID>', '▁<MID>', '<|code_middle|>', '<|middle|>'],
  pad: ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]'],
  rep: ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>'],
  sep: ['<|file_sep|>'],
};

/** Facts from a (possibly partial) header; never throws. */
export function ggufFacts(header: GgufHeader): GgufFacts {
  const arch = kvString(header, 'general.architecture');
  const a = (suffix: string): number | undefined => (arch ? kvInteger(header, `${arch}.${suffix}`) : undefined);
  const tokensKv = header.metadata.get('tokenizer.ggml.tokens');
  const tokens = tokensKv && isGgufArray(tokensKv.value) ? tokensKv.value : undefined;
  const vocabSize = tokens?.length;
  const tokenText = (id: number): string | undefined => {
    const t = tokens && !tokens.truncated ? tokens.items[id] : undefined;
    return typeof t === 'string' ? t : undefined;
  };
  const validId = (id: number | undefined): number | undefined => (id !== undefined && id >= 0 && (vocabSize === undefined || id < vocabSize) ? id : undefined);

  let parameters = 0n;
  const tensorTypes: Record<string, number> = {};
  const paramsByType = new Map<string, bigint>();
  for (const t of header.tensors) {
    const n = elementCount(t) ?? 0n;
    parameters += n;
    const typeName = GGML_TYPES.get(t.type)?.name ?? `type ${t.type}`;
    tensorTypes[typeName] = (tensorTypes[typeName] ?? 0) + 1;
    paramsByType.set(typeName, (paramsByType.get(typeName) ?? 0n) + n);
  }
  const dominant = [...paramsByType.entries()].sort((x, y) => (y[1] > x[1] ? 1 : y[1] < x[1] ? -1 : 0))[0]?.[0];
  const fileType = kvInteger(header, 'general.file_type');
  const fileTypeName = fileType === undefined ? undefined : (LLAMA_FILE_TYPES.get(fileType) ?? `unknown (${fileType})`);

  const fimTokens: GgufFimTokens = {};
  const fimTokenTexts: GgufFacts['fimTokenTexts'] = {};
  let fimSource: GgufFacts['fimSource'];
  for (const slot of Object.keys(FIM_KEYS) as Array<keyof GgufFimTokens>) {
    for (const name of FIM_KEYS[slot]) {
      const id = validId(kvInteger(header, `tokenizer.ggml.${name}_token_id`));
      if (id !== undefined) {
        fimTokens[slot] = id;
        break;
      }
    }
  }
  if (Object.keys(fimTokens).length > 0) fimSource = 'metadata';
  else if (tokens && !tokens.truncated) {
    const wanted = new Map<string, keyof GgufFimTokens>();
    for (const slot of Object.keys(FIM_TEXTS) as Array<keyof GgufFimTokens>) for (const text of FIM_TEXTS[slot]) wanted.set(text, slot);
    tokens.items.forEach((t, id) => {
      const slot = typeof t === 'string' ? wanted.get(t) : undefined;
      if (slot && fimTokens[slot] === undefined) fimTokens[slot] = id;
    });
    if (Object.keys(fimTokens).length > 0) fimSource = 'token-text';
  }
  for (const slot of Object.keys(fimTokens) as Array<keyof GgufFimTokens>) {
    const text = tokenText(fimTokens[slot]!);
    if (text !== undefined) fimTokenTexts[slot] = text;
  }
  const fim = fimTokens.pre !== undefined && fimTokens.suf !== undefined && fimTokens.mid !== undefined;

  return {
    version: header.version,
    architecture: arch,
    name: kvString(header, 'general.name'),
    parameterCount: Number(parameters),
    fileType,
    fileTypeName,
    quantization: fileTypeName ?? dominant,
    tensorTypes,
    contextLength: a('context_length'),
    embeddingLength: a('embedding_length'),
    blockCount: a('block_count'),
    feedForwardLength: a('feed_forward_length'),
    headCount: a('attention.head_count'),
    headCountKv: a('attention.head_count_kv') ?? a('attention.head_count'),
    expertCount: a('expert_count'),
    expertUsedCount: a('expert_used_count'),
    vocabSize,
    tokenizerModel: kvString(header, 'tokenizer.ggml.model'),
    bosTokenId: validId(kvInteger(header, 'tokenizer.ggml.bos_token_id')),
    eosTokenId: validId(kvInteger(header, 'tokenizer.ggml.eos_token_id')),
    eotTokenId: validId(kvInteger(header, 'tokenizer.ggml.eot_token_id')),
    fimTokens,
    fimSource,
    fim,
    fimTokenTexts,
    chatTemplate: typeof header.metadata.get('tokenizer.chat_template')?.value === 'string',
    tensorCount: header.tensors.length,
    dataOffset: header.dataOffset,
    alignment: header.alignment,
    metadataKeyCount: header.kv.length,
    headerBytes: header.headerBytes,
  };
}

/** The headline facts as a flat record for text output (`facts.summary`). */
export function ggufSummary(f: GgufFacts): Record<string, string | number | boolean> {
  const s: Record<string, string | number | boolean> = { 'gguf version': f.version };
  if (f.architecture) s.architecture = f.architecture;
  if (f.name) s.name = f.name;
  s.parameters = f.parameterCount;
  if (f.quantization) s.quantization = f.quantization;
  if (f.contextLength !== undefined) s['context length'] = f.contextLength;
  if (f.embeddingLength !== undefined) s['embedding length'] = f.embeddingLength;
  if (f.blockCount !== undefined) s.layers = f.blockCount;
  if (f.headCount !== undefined) s.heads = f.headCountKv !== undefined && f.headCountKv !== f.headCount ? `${f.headCount} (${f.headCountKv} kv)` : f.headCount;
  if (f.expertCount) s.experts = `${f.expertUsedCount ?? '?'} of ${f.expertCount}`;
  if (f.vocabSize !== undefined) s.vocabulary = `${f.vocabSize}${f.tokenizerModel ? ` (${f.tokenizerModel})` : ''}`;
  s['fill-in-the-middle'] = f.fim;
  s['chat template'] = f.chatTemplate;
  s.tensors = f.tensorCount;
  return s;
}

