import type { GgufValueType } from './constants';

/** A metadata scalar: u64/i64 stay bigint (exact), other numbers are numbers. */
export type GgufScalar = number | bigint | boolean | string;

/** A metadata array. Long arrays keep only their first items (`truncated`), except the token list. */
export interface GgufArray {
  itemType: GgufValueType;
  /** Element count as declared in the file. */
  length: number;
  items: Array<GgufScalar | GgufArray>;
  truncated: boolean;
}

export type GgufValue = GgufScalar | GgufArray;

export interface GgufKv {
  key: string;
  type: GgufValueType;
  value: GgufValue;
  /** Absolute file offset of the key's length field. */
  offset: number;
  /** The key's bytes were not valid UTF-8 (shown with replacement characters). */
  invalidUtf8?: boolean;
}

export interface GgufTensorInfo {
  name: string;
  invalidUtf8?: boolean;
  /** Byte length of the name as stored. */
  nameBytes: number;
  /** ggml order: innermost dimension first. */
  dims: bigint[];
  /** ggml type id (see GGML_TYPES). */
  type: number;
  /** Offset relative to the start of the data section. */
  offset: bigint;
  /** Absolute file offset of this tensor info. */
  infoOffset: number;
}

/** Everything before the tensor data, read with bounds; never the tensor data itself. */
export interface GgufHeader {
  version: number;
  tensorCount: bigint;
  kvCount: bigint;
  kv: GgufKv[];
  /** First occurrence of each key. */
  metadata: Map<string, GgufKv>;
  tensors: GgufTensorInfo[];
  /** From `general.alignment` when it is a valid u32 power of two, else the default 32. */
  alignment: number;
  /** Absolute offset where the tensor data section starts (valid when `complete`). */
  dataOffset: number;
  /** Bytes of header read (tensor infos included, padding excluded). */
  headerBytes: number;
  /** False when parsing stopped at a structural error: the fields read so far are kept. */
  complete: boolean;
}

export function isGgufArray(v: GgufValue | undefined): v is GgufArray {
  return typeof v === 'object' && v !== null && 'itemType' in v;
}

/** A metadata value as a JS number when it is an integer scalar that fits, else undefined. */
export function kvInteger(header: GgufHeader, key: string): number | undefined {
  const v = header.metadata.get(key)?.value;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(v);
  return undefined;
}

export function kvString(header: GgufHeader, key: string): string | undefined {
  const v = header.metadata.get(key)?.value;
  return typeof v === 'string' ? v : undefined;
}

export function kvNumber(header: GgufHeader, key: string): number | undefined {
  const v = header.metadata.get(key)?.value;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}
