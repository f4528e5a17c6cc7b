import type { Finding, Severity } from '../findings';
import { ARCH_REQUIREMENTS, COMMON_REQUIRED_KEYS } from './arch';
import {
  GGML_MAX_NAME,
  GGML_TYPES,
  GGUF_VALUE_TYPE_NAMES,
  GgufValueType,
  INT64_MAX,
  LLAMA_CPP_ARCHITECTURES,
  LLAMA_MAX_EXPERTS,
  LLAMA_MAX_LAYERS,
  SPECIAL_TOKEN_KEYS,
  UINT64_MAX,
} from './constants';
import { isGgufArray, kvInteger, type GgufHeader, type GgufKv, type GgufTensorInfo } from './header';

/** Alignments above this are refused: real files use 32 (the default) or 64. */
export const MAX_ALIGNMENT = 64 * 1024;
/** Findings kept per rule, so a hostile file cannot flood the report. */
const MAX_FINDINGS_PER_RULE = 20;

class Findings {
  readonly list: Finding[] = [];
  private readonly perRule = new Map<string, number>();

  add(rule: string, severity: Severity, message: string, location?: string): void {
    const n = (this.perRule.get(rule) ?? 0) + 1;
    this.perRule.set(rule, n);
    if (n <= MAX_FINDINGS_PER_RULE) this.list.push(location === undefined ? { rule, severity, message } : { rule, severity, message, location });
    else if (n === MAX_FINDINGS_PER_RULE + 1) this.list.push({ rule, severity, message: `more ${rule} findings not shown` });
  }
}

/** Bytes a tensor's data takes: elements / block size * type size (checked, BigInt). */
export function tensorByteSize(t: GgufTensorInfo): bigint | undefined {
  const info = GGML_TYPES.get(t.type);
  if (!info || info.blockSize === 0) return undefined;
  const n = elementCount(t);
  if (n === undefined) return undefined;
  return (n / BigInt(info.blockSize)) * BigInt(info.typeSize);
}

/** Product of the dims, or undefined when it passes INT64_MAX (ggml counts elements in int64). */
export function elementCount(t: GgufTensorInfo): bigint | undefined {
  let n = 1n;
  for (const d of t.dims) {
    n *= d;
    if (n > INT64_MAX) return undefined;
  }
  return n;
}

/**
 * Checks a parsed header against everything llama.cpp assumes (fail closed): metadata keys, alignment,
 * tensor shapes, types, sizes and placement against `fileSize`, token ids and token arrays, and the keys
 * the architecture's loader requires. Severity: malformed structure = high; what makes llama.cpp abort
 * the process = critical; what llama.cpp would merely refuse or not know = medium.
 */
export function validateGguf(header: GgufHeader, fileSize: number): Finding[] {
  const f = new Findings();
  checkKeys(header, f);
  checkAlignment(header, f);
  checkTensors(header, fileSize, f);
  checkTokenizer(header, f);
  checkArchitecture(header, f);
  return f.list;
}

function checkKeys(header: GgufHeader, f: Findings): void {
  const seen = new Set<string>();
  for (const kv of header.kv) {
    const where = `offset ${kv.offset}`;
    if (kv.key.length === 0) f.add('gguf/empty-key', 'high', 'a metadata key is empty', where);
    if (kv.invalidUtf8) f.add('gguf/invalid-utf8', 'high', `metadata key ${JSON.stringify(kv.key)} is not valid UTF-8`, where);
    if (seen.has(kv.key)) f.add('gguf/duplicate-key', 'high', `metadata key ${JSON.stringify(kv.key)} appears more than once (readers disagree on which one wins)`, where);
    seen.add(kv.key);
    if (isGgufArray(kv.value) && kv.value.itemType === GgufValueType.ARRAY) {
      f.add('gguf/nested-array', 'medium', `metadata key ${JSON.stringify(kv.key)} holds an array of arrays, which llama.cpp refuses to load`, where);
    }
  }
}

function checkAlignment(header: GgufHeader, f: Findings): void {
  const kv = header.metadata.get('general.alignment');
  if (!kv) return;
  const where = 'general.alignment';
  if (kv.type !== GgufValueType.UINT32) {
    f.add('gguf/bad-alignment', 'high', `general.alignment must be u32, found ${typeName(kv)}`, where);
    return;
  }
  const a = kv.value as number;
  if (a === 0 || (a & (a - 1)) !== 0) f.add('gguf/bad-alignment', 'high', `general.alignment ${a} is not a power of two`, where);
  else if (a > MAX_ALIGNMENT) f.add('gguf/bad-alignment', 'high', `general.alignment ${a} is larger than ${MAX_ALIGNMENT}`, where);
}

function checkTensors(header: GgufHeader, fileSize: number, f: Findings): void {
  const names = new Set<string>();
  const placed: Array<{ name: string; start: bigint; end: bigint }> = [];
  const alignment = BigInt(header.alignment);
  const dataOffset = BigInt(header.dataOffset);
  let expected = 0n; // llama.cpp requires tensors packed in file order, each padded to the alignment
  let reportedGap = false;
  for (const t of header.tensors) {
    const where = `tensor ${JSON.stringify(t.name)} at offset ${t.infoOffset}`;
    if (t.nameBytes === 0) f.add('gguf/bad-tensor-name', 'high', 'a tensor name is empty', where);
    else if (t.nameBytes >= GGML_MAX_NAME) f.add('gguf/bad-tensor-name', 'high', `tensor name is ${t.nameBytes} bytes; ggml allows ${GGML_MAX_NAME - 1}`, where);
    if (t.invalidUtf8) f.add('gguf/invalid-utf8', 'high', 'a tensor name is not valid UTF-8', where);
    if (names.has(t.name)) f.add('gguf/duplicate-tensor', 'high', `tensor name ${JSON.stringify(t.name)} appears more than once`, where);
    names.add(t.name);

    const badDim = t.dims.findIndex((d) => d === 0n || d > INT64_MAX);
    if (badDim >= 0) {
      f.add('gguf/bad-dimension', 'high', `dimension ${badDim} is ${t.dims[badDim]}; each must be in [1, 2^63)`, where);
      continue;
    }
    const count = elementCount(t);
    if (count === undefined) {
      f.add('gguf/element-count-overflow', 'high', `shape ${t.dims.join('x')} has more than 2^63-1 elements (integer overflow)`, where);
      continue;
    }
    const type = GGML_TYPES.get(t.type);
    if (!type) {
      f.add('gguf/unknown-tensor-type', 'high', `ggml type id ${t.type} is not a known type`, where);
      continue;
    }
    if (type.removed) {
      f.add('gguf/removed-tensor-type', 'high', `ggml type ${type.name} (${t.type}) is ${type.removed}`, where);
      continue;
    }
    const rowLength = t.dims[0] ?? 1n;
    if (rowLength % BigInt(type.blockSize) !== 0n) {
      f.add('gguf/block-size-mismatch', 'high', `rows of ${rowLength} elements are not a multiple of the ${type.name} block size ${type.blockSize}`, where);
      continue;
    }
    const bytes = (count / BigInt(type.blockSize)) * BigInt(type.typeSize);
    if (bytes > UINT64_MAX) {
      f.add('gguf/tensor-size-overflow', 'high', `tensor data size ${bytes} does not fit in 64 bits`, where);
      continue;
    }
    if (t.offset % alignment !== 0n) {
      f.add('gguf/tensor-misaligned', 'high', `data offset ${t.offset} is not a multiple of the alignment ${header.alignment}`, where);
    }
    if (header.complete) {
      const start = dataOffset + t.offset;
      const end = start + bytes;
      if (end > BigInt(fileSize)) {
        f.add('gguf/tensor-out-of-bounds', 'high', `data [${start}, ${end}) passes the end of the file (${fileSize} bytes)`, where);
      } else {
        placed.push({ name: t.name, start, end });
      }
    }
    if (t.offset !== expected && !reportedGap) {
      reportedGap = true;
      f.add('gguf/tensor-offset-gap', 'medium', `data offset ${t.offset}, but llama.cpp expects ${expected} (tensors packed in order); llama.cpp refuses the file`, where);
    }
    expected = t.offset + ((bytes + alignment - 1n) / alignment) * alignment;
  }
  placed.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  for (let i = 1; i < placed.length; i++) {
    const prev = placed[i - 1];
    const cur = placed[i];
    if (cur.start < prev.end && cur.end > cur.start && prev.end > prev.start) {
      f.add('gguf/tensor-overlap', 'high', `data of ${JSON.stringify(cur.name)} [${cur.start}, ${cur.end}) overlaps ${JSON.stringify(prev.name)} [${prev.start}, ${prev.end})`, `tensor ${JSON.stringify(cur.name)}`);
    }
  }
}

function checkTokenizer(header: GgufHeader, f: Findings): void {
  const tokens = header.metadata.get('tokenizer.ggml.tokens');
  let vocab: number | undefined;
  if (tokens) {
    if (!isGgufArray(tokens.value) || tokens.value.itemType !== GgufValueType.STRING) {
      f.add('gguf/wrong-key-type', 'high', `tokenizer.ggml.tokens must be an array of strings, found ${typeName(tokens)}`, 'tokenizer.ggml.tokens');
    } else {
      vocab = tokens.value.length;
    }
  }
  for (const key of ['tokenizer.ggml.scores', 'tokenizer.ggml.token_type']) {
    const kv = header.metadata.get(key);
    if (!kv) continue;
    if (!isGgufArray(kv.value)) {
      f.add('gguf/wrong-key-type', 'high', `${key} must be an array, found ${typeName(kv)}`, key);
    } else if (vocab !== undefined && kv.value.length !== vocab) {
      f.add('gguf/token-array-mismatch', 'high', `${key} has ${kv.value.length} entries but there are ${vocab} tokens (llama.cpp indexes it by token id)`, key);
    }
  }
  // An SPM (llama) vocabulary must hold the byte tokens: llama.cpp looks up the newline as <0x0A> while loading
  // the vocabulary, and a vocabulary without it terminates the process (std::out_of_range).
  if (header.metadata.get('tokenizer.ggml.model')?.value === 'llama' && tokens && isGgufArray(tokens.value) && !tokens.value.truncated) {
    if (!tokens.value.items.includes('<0x0A>')) {
      f.add('gguf/spm-missing-byte-tokens', 'critical', 'the SPM vocabulary has no byte tokens (no <0x0A>): llama.cpp terminates the process while loading it', 'tokenizer.ggml.tokens');
    }
  }
  for (const key of SPECIAL_TOKEN_KEYS) {
    const kv = header.metadata.get(key);
    if (!kv) continue;
    // llama.cpp reads token ids with a strict u32 type check.
    if (kv.type !== GgufValueType.UINT32) {
      f.add('gguf/wrong-key-type', 'high', `${key} must be u32, found ${typeName(kv)}`, key);
      continue;
    }
    const id = BigInt(kv.value as number | bigint);
    if (vocab !== undefined && (id < 0n || id >= BigInt(vocab))) {
      f.add('gguf/token-id-out-of-range', 'high', `${key} is ${id} but the vocabulary has ${vocab} tokens`, key);
    }
  }
}

function checkArchitecture(header: GgufHeader, f: Findings): void {
  const archKv = header.metadata.get('general.architecture');
  if (!archKv) {
    f.add('gguf/missing-key', 'high', 'general.architecture is missing: llama.cpp cannot load the file', 'general.architecture');
    return;
  }
  if (archKv.type !== GgufValueType.STRING) {
    f.add('gguf/wrong-key-type', 'high', `general.architecture must be a string, found ${typeName(archKv)}`, 'general.architecture');
    return;
  }
  const arch = archKv.value as string;
  if (!LLAMA_CPP_ARCHITECTURES.has(arch)) {
    f.add('gguf/unknown-architecture', 'medium', `architecture ${JSON.stringify(arch)} is not one llama.cpp knows; its required metadata cannot be checked`, 'general.architecture');
    return;
  }
  const p = (suffix: string): string => `${arch}.${suffix}`;
  const integerKey = (key: string, severityIfMissing?: Severity, why = 'llama.cpp refuses to load the file'): number | undefined => {
    const kv = header.metadata.get(key);
    if (!kv) {
      if (severityIfMissing) f.add('gguf/missing-key', severityIfMissing, `${key} is missing: ${why}`, key);
      return undefined;
    }
    // llama.cpp's get_key checks the type strictly: u32 scalars, or per-layer arrays of i32/u32.
    const ok = isGgufArray(kv.value)
      ? kv.value.itemType === GgufValueType.UINT32 || kv.value.itemType === GgufValueType.INT32
      : kv.type === GgufValueType.UINT32;
    if (!ok) {
      f.add('gguf/wrong-key-type', 'high', `${key} must be u32 (or a per-layer array of i32/u32), found ${typeName(kv)}`, key);
      return undefined;
    }
    return kvInteger(header, key);
  };

  // Generic checks from load_hparams: they apply to every architecture llama.cpp loads.
  const blocks = integerKey(p('block_count'));
  if (blocks !== undefined && (blocks < 1 || blocks > LLAMA_MAX_LAYERS)) {
    f.add('gguf/bad-hyperparameter', 'critical', `${p('block_count')} is ${blocks}; llama.cpp aborts the process unless it is in [1, ${LLAMA_MAX_LAYERS}] (GGML_ASSERT)`, p('block_count'));
  }
  const experts = integerKey(p('expert_count')) ?? 0;
  const used = integerKey(p('expert_used_count')) ?? 0;
  if (experts > LLAMA_MAX_EXPERTS) f.add('gguf/bad-hyperparameter', 'critical', `${p('expert_count')} is ${experts}; llama.cpp aborts above ${LLAMA_MAX_EXPERTS}`, p('expert_count'));
  if (used > experts) f.add('gguf/bad-hyperparameter', 'critical', `${p('expert_used_count')} ${used} exceeds ${p('expert_count')} ${experts}; llama.cpp aborts the process (GGML_ASSERT)`, p('expert_used_count'));

  const req = ARCH_REQUIREMENTS.get(arch);
  if (!req) return;
  for (const suffix of [...COMMON_REQUIRED_KEYS.filter((k) => k !== 'block_count'), ...(req.extra ?? [])]) integerKey(p(suffix), 'high');
  if (blocks === undefined && !header.metadata.has(p('block_count'))) f.add('gguf/missing-key', 'high', `${p('block_count')} is missing: llama.cpp refuses to load the file`, p('block_count'));
  if (!header.metadata.has(p(req.eps))) f.add('gguf/missing-key', 'high', `${p(req.eps)} is missing: llama.cpp refuses to load the file`, p(req.eps));

  const abortKeys = req.denseFfn ? ['attention.head_count', 'feed_forward_length'] : ['attention.head_count'];
  const aborts = 'llama.cpp creates a tensor with a zero dimension and aborts the process (GGML_ASSERT)';
  for (const suffix of abortKeys) {
    const key = p(suffix);
    const value = integerKey(key, 'critical', aborts);
    if (value === 0) f.add('gguf/bad-hyperparameter', 'critical', `${key} is 0: ${aborts}`, key);
    const kv = header.metadata.get(key);
    if (kv && isGgufArray(kv.value) && blocks !== undefined && kv.value.length !== blocks) {
      f.add('gguf/bad-hyperparameter', 'high', `${key} has ${kv.value.length} per-layer values but ${p('block_count')} is ${blocks}`, key);
    }
  }
  // Grouped-query attention: each KV head serves head_count / head_count_kv query heads. When that does not
  // divide, llama.cpp's attention graph fails ggml_can_mul_mat(k, q) as the context is created and the
  // process aborts (GGML_ASSERT) — found by the engine's crash test, the file otherwise being consistent.
  const heads = kvInteger(header, p('attention.head_count'));
  const kvHeads = kvInteger(header, p('attention.head_count_kv'));
  if (heads !== undefined && heads > 0 && kvHeads !== undefined && (kvHeads === 0 || heads % kvHeads !== 0)) {
    f.add('gguf/bad-hyperparameter', 'critical', `${p('attention.head_count')} ${heads} is not a multiple of ${p('attention.head_count_kv')} ${kvHeads}: llama.cpp aborts the process when it builds the attention (GGML_ASSERT)`, p('attention.head_count_kv'));
  }
  if (!header.metadata.has('tokenizer.ggml.model')) f.add('gguf/missing-key', 'high', 'tokenizer.ggml.model is missing: llama.cpp cannot build the vocabulary', 'tokenizer.ggml.model');
  else if (header.metadata.get('tokenizer.ggml.model')?.value !== 'none' && !header.metadata.has('tokenizer.ggml.tokens')) {
    f.add('gguf/missing-key', 'high', 'tokenizer.ggml.tokens is missing: llama.cpp cannot build the vocabulary', 'tokenizer.ggml.tokens');
  }
}

function typeName(kv: GgufKv): string {
  if (isGgufArray(kv.value)) return `array of ${GGUF_VALUE_TYPE_NAMES[kv.value.itemType] ?? kv.value.itemType}`;
  return GGUF_VALUE_TYPE_NAMES[kv.type] ?? String(kv.type);
}
