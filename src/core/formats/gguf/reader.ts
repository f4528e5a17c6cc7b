import type { Finding } from '../findings';
import type { ByteSource } from '../source';
import {
  GGML_MAX_DIMS,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_MAX_ARRAY_ELEMENTS,
  GGUF_MAX_STRING_LENGTH,
  GGUF_SUPPORTED_VERSIONS,
  GGUF_VALUE_MIN_SIZE,
  GGUF_VALUE_TYPE_NAMES,
  GgufValueType,
} from './constants';
import type { GgufArray, GgufHeader, GgufKv, GgufScalar, GgufTensorInfo, GgufValue } from './header';

export interface GgufReadOptions {
  /** First window read from the start of the file; grown x4 as needed. Default 256 KiB. */
  initialWindow?: number;
  /** The header (metadata + tensor infos) may not exceed this: bounded memory. Default 256 MiB. */
  maxHeaderBytes?: number;
  /** Caps on declared counts (llama.cpp's own caps are only SIZE_MAX-based). */
  maxTensors?: number;
  maxKv?: number;
  /** Arrays keep this many items in memory (the token list is always kept in full). Default 64. */
  keepArrayItems?: number;
  signal?: AbortSignal;
}

export const GGUF_READ_DEFAULTS = {
  initialWindow: 256 * 1024,
  maxHeaderBytes: 256 * 1024 * 1024,
  maxTensors: 1 << 20,
  maxKv: 1 << 16,
  keepArrayItems: 64,
} as const;

/** Arrays nest at most this deep (llama.cpp itself accepts no nesting at all). */
export const MAX_ARRAY_DEPTH = 3;
/** Arrays kept in full because other checks and facts need every item. */
const KEEP_ALL_ARRAYS: ReadonlySet<string> = new Set(['tokenizer.ggml.tokens']);
/** Least bytes one KV pair takes (key length + type + a 1-byte value) and one tensor info (name length, n_dims, type, offset). */
const MIN_KV_BYTES = 8 + 4 + 1;
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8;

export interface GgufReadResult {
  header: GgufHeader;
  /** Structural findings that stopped the parse (empty when `header.complete`). */
  findings: Finding[];
}

/** A structural error: parsing cannot go on. */
class GgufStructureError extends Error {
  constructor(
    readonly rule: string,
    message: string,
    readonly at: number,
  ) {
    super(message);
  }
}

/** The window ended before the header did: read more and parse again. */
class NeedMoreBytes extends Error {
  constructor(readonly upTo: number) {
    super(`need bytes up to ${upTo}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Lossy = new TextDecoder('utf-8');

/**
 * Reads a GGUF header (metadata and tensor infos, never tensor data) from an untrusted source.
 *
 * It reads a window from the start of the file and parses it; when the header runs past the window it
 * reads a window 4x larger (up to `maxHeaderBytes`) and parses again, so a 40 GB model costs what its
 * header costs. Every count and length is checked against the bytes left in the FILE before use. It
 * never throws for bad content: a structural error stops the parse and is returned as a finding, with
 * what was read so far (`header.complete === false`). I/O errors and aborts propagate.
 */
export async function readGgufHeader(source: ByteSource, options: GgufReadOptions = {}): Promise<GgufReadResult> {
  const opts = { ...GGUF_READ_DEFAULTS, ...options };
  const cap = Math.min(source.size, opts.maxHeaderBytes);
  let window = Math.min(source.size, Math.max(64, opts.initialWindow));
  for (;;) {
    opts.signal?.throwIfAborted();
    const buf = await source.readAt(0, window);
    const parser = new HeaderParser(buf, source.size, opts);
    try {
      parser.parse();
      return { header: parser.header, findings: [] };
    } catch (err) {
      if (err instanceof NeedMoreBytes) {
        if (window >= cap) {
          parser.header.complete = false;
          return {
            header: parser.header,
            findings: [{
              rule: 'gguf/header-too-large',
              severity: 'high',
              message: `the metadata and tensor infos run past ${opts.maxHeaderBytes.toLocaleString('en-US')} bytes; refusing to read further (bounded memory)`,
              location: `offset ${err.upTo}`,
            }],
          };
        }
        window = Math.min(cap, Math.max(window * 4, err.upTo));
        continue;
      }
      if (err instanceof GgufStructureError) {
        parser.header.complete = false;
        return { header: parser.header, findings: [{ rule: err.rule, severity: 'high', message: err.message, location: `offset ${err.at}` }] };
      }
      throw err;
    }
  }
}

class HeaderParser {
  pos = 0;
  readonly header: GgufHeader = {
    version: 0,
    tensorCount: 0n,
    kvCount: 0n,
    kv: [],
    metadata: new Map(),
    tensors: [],
    alignment: GGUF_DEFAULT_ALIGNMENT,
    dataOffset: 0,
    headerBytes: 0,
    complete: false,
  };

  constructor(
    private readonly buf: Buffer,
    private readonly fileSize: number,
    private readonly opts: Required<Omit<GgufReadOptions, 'signal'>>,
  ) {}

  parse(): void {
    const h = this.header;
    const magic = this.take(4, 'magic').toString('latin1');
    if (magic !== GGUF_MAGIC) throw new GgufStructureError('gguf/bad-magic', `not a GGUF file: magic ${JSON.stringify(magic)}`, 0);
    h.version = this.u32('version');
    if (!GGUF_SUPPORTED_VERSIONS.has(h.version)) {
      const hint = (h.version & 0xffff) === 0 ? ' (a big-endian file?)' : h.version === 1 ? ' (GGUF v1 is no longer read by llama.cpp)' : '';
      throw new GgufStructureError('gguf/unsupported-version', `GGUF version ${h.version} is not supported; expected 2 or 3${hint}`, 4);
    }
    h.tensorCount = this.u64('tensor count');
    h.kvCount = this.u64('metadata count');
    this.checkCount(h.tensorCount, this.opts.maxTensors, MIN_TENSOR_INFO_BYTES, 'gguf/too-many-tensors', 'tensor count', 8);
    this.checkCount(h.kvCount, this.opts.maxKv, MIN_KV_BYTES, 'gguf/too-many-kv', 'metadata key count', 16);

    for (let i = 0; i < Number(h.kvCount); i++) {
      const offset = this.pos;
      const key = this.string('key');
      const type = this.valueType(`type of key ${JSON.stringify(key.text)}`);
      const value = this.value(type, key.text, 0);
      const entry: GgufKv = { key: key.text, type, value, offset };
      if (key.invalid) entry.invalidUtf8 = true;
      h.kv.push(entry);
      if (!h.metadata.has(key.text)) h.metadata.set(key.text, entry);
    }
    const alignment = h.metadata.get('general.alignment');
    if (alignment && alignment.type === GgufValueType.UINT32) {
      const a = alignment.value as number;
      if (a > 0 && (a & (a - 1)) === 0) h.alignment = a;
    }

    for (let i = 0; i < Number(h.tensorCount); i++) {
      const infoOffset = this.pos;
      const name = this.string('tensor name');
      const nDimsAt = this.pos;
      const nDims = this.u32('tensor n_dims');
      if (nDims > GGML_MAX_DIMS) {
        throw new GgufStructureError('gguf/too-many-dims', `tensor ${JSON.stringify(name.text)} has ${nDims} dimensions; ggml allows at most ${GGML_MAX_DIMS}`, nDimsAt);
      }
      const dims: bigint[] = [];
      for (let d = 0; d < nDims; d++) dims.push(this.u64('tensor dimension'));
      const type = this.u32('tensor type');
      const offset = this.u64('tensor offset');
      const info: GgufTensorInfo = { name: name.text, nameBytes: name.bytes, dims, type, offset, infoOffset };
      if (name.invalid) info.invalidUtf8 = true;
      h.tensors.push(info);
    }
    h.headerBytes = this.pos;
    // llama.cpp aligns the data section only when there are tensors.
    h.dataOffset = h.tensors.length > 0 ? Math.ceil(this.pos / h.alignment) * h.alignment : this.pos;
    h.complete = true;
  }

  /** A declared count must be under our cap and fit in the bytes left (count inflation). */
  private checkCount(count: bigint, cap: number, minBytes: number, rule: string, what: string, at: number): void {
    if (count > BigInt(cap)) throw new GgufStructureError(rule, `${what} ${count} exceeds the limit of ${cap.toLocaleString('en-US')}`, at);
    const left = BigInt(this.fileSize - this.pos);
    if (count * BigInt(minBytes) > left) {
      throw new GgufStructureError(rule, `${what} ${count} cannot fit in the ${left} bytes left in the file (at least ${minBytes} bytes each)`, at);
    }
  }

  private value(type: GgufValueType, key: string, depth: number): GgufValue {
    if (type === GgufValueType.ARRAY) return this.array(key, depth + 1);
    return this.scalar(type);
  }

  private array(key: string, depth: number): GgufArray {
    const at = this.pos;
    if (depth > MAX_ARRAY_DEPTH) throw new GgufStructureError('gguf/array-too-deep', `array of key ${JSON.stringify(key)} nests deeper than ${MAX_ARRAY_DEPTH}`, at);
    const itemType = this.valueType(`item type of key ${JSON.stringify(key)}`);
    const lengthAt = this.pos;
    const declared = this.u64Number(`array length of key ${JSON.stringify(key)}`);
    const left = this.fileSize - this.pos;
    const minItem = GGUF_VALUE_MIN_SIZE[itemType];
    if (declared > GGUF_MAX_ARRAY_ELEMENTS || declared * minItem > left) {
      throw new GgufStructureError(
        'gguf/length-out-of-bounds',
        `array of key ${JSON.stringify(key)} declares ${this.u64At(lengthAt)} items of ${GGUF_VALUE_TYPE_NAMES[itemType]}; at least ${BigInt(this.u64At(lengthAt)) * BigInt(minItem)} bytes, but ${left} bytes are left in the file`,
        lengthAt,
      );
    }
    const length = declared;
    const keep = depth === 1 && KEEP_ALL_ARRAYS.has(key) ? length : Math.min(length, this.opts.keepArrayItems);
    const items: Array<GgufScalar | GgufArray> = [];
    for (let i = 0; i < keep; i++) items.push(this.value(itemType, key, depth));
    if (itemType === GgufValueType.STRING) {
      for (let i = keep; i < length; i++) this.advance(this.stringLength('string item'), 'string item');
    } else if (itemType === GgufValueType.ARRAY) {
      for (let i = keep; i < length; i++) this.array(key, depth + 1);
    } else {
      this.advance((length - keep) * minItem, `items of key ${JSON.stringify(key)}`);
    }
    return { itemType, length, items, truncated: keep < length };
  }

  private scalar(type: GgufValueType): GgufScalar {
    const b = this.buf;
    switch (type) {
      case GgufValueType.UINT8: return b.readUInt8(this.advance(1, 'u8'));
      case GgufValueType.INT8: return b.readInt8(this.advance(1, 'i8'));
      case GgufValueType.UINT16: return b.readUInt16LE(this.advance(2, 'u16'));
      case GgufValueType.INT16: return b.readInt16LE(this.advance(2, 'i16'));
      case GgufValueType.UINT32: return b.readUInt32LE(this.advance(4, 'u32'));
      case GgufValueType.INT32: return b.readInt32LE(this.advance(4, 'i32'));
      case GgufValueType.FLOAT32: return b.readFloatLE(this.advance(4, 'f32'));
      case GgufValueType.BOOL: return b.readUInt8(this.advance(1, 'bool')) !== 0;
      case GgufValueType.STRING: {
        // Values are not validated as UTF-8 (llama.cpp does not either): decoded leniently, and fast.
        const n = this.stringLength('string value');
        const start = this.advance(n, 'string value');
        return b.toString('utf8', start, start + n);
      }
      case GgufValueType.UINT64: return b.readBigUInt64LE(this.advance(8, 'u64'));
      case GgufValueType.INT64: return b.readBigInt64LE(this.advance(8, 'i64'));
      case GgufValueType.FLOAT64: return b.readDoubleLE(this.advance(8, 'f64'));
      default: throw new Error(`unreachable value type ${type as number}`);
    }
  }

  private valueType(what: string): GgufValueType {
    const at = this.pos;
    const t = this.u32(what);
    if (t > GgufValueType.FLOAT64) throw new GgufStructureError('gguf/bad-value-type', `${what} is ${t}; valid types are 0-12`, at);
    return t as GgufValueType;
  }

  /** A string's u64 length, checked against the bytes left in the file before anything is read. */
  private stringLength(what: string): number {
    const at = this.pos;
    const n = this.u64Number(`${what} length`);
    const left = this.fileSize - this.pos;
    if (n > left || n > GGUF_MAX_STRING_LENGTH) {
      throw new GgufStructureError('gguf/length-out-of-bounds', `${what} declares ${this.u64At(at)} bytes but ${left} bytes are left in the file`, at);
    }
    return n;
  }

  /** Keys and tensor names: validated as UTF-8 (shown lossily when invalid). */
  private string(what: string): { text: string; bytes: number; invalid: boolean } {
    const n = this.stringLength(what);
    const start = this.advance(n, what);
    const bytes = this.buf.subarray(start, start + n);
    try {
      return { text: utf8.decode(bytes), bytes: n, invalid: false };
    } catch {
      return { text: utf8Lossy.decode(bytes), bytes: n, invalid: true };
    }
  }

  private u32(what: string): number {
    return this.buf.readUInt32LE(this.advance(4, what));
  }

  private u64(what: string): bigint {
    return this.buf.readBigUInt64LE(this.advance(8, what));
  }

  /**
   * A u64 as a number without BigInt (the hot path: one per string). Values past 2^53 come back as
   * Infinity, which every bound check then rejects.
   */
  private u64Number(what: string): number {
    const at = this.advance(8, what);
    const hi = this.buf.readUInt32LE(at + 4);
    return hi >= 0x200000 ? Infinity : hi * 0x1_0000_0000 + this.buf.readUInt32LE(at);
  }

  /** The exact u64 at an offset already read, for messages. */
  private u64At(at: number): bigint {
    return this.buf.readBigUInt64LE(at);
  }

  /**
   * Every read goes through here: past the file end is a structural error, past the window asks for
   * more. Returns the start offset of the `n` bytes.
   */
  private advance(n: number, what: string): number {
    const at = this.pos;
    if (n > this.fileSize - at) {
      throw new GgufStructureError('gguf/truncated', `the file ends inside the ${what} (${n} bytes needed at offset ${at}, ${this.fileSize - at} left)`, at);
    }
    if (at + n > this.buf.length) throw new NeedMoreBytes(at + n);
    this.pos = at + n;
    return at;
  }

  private take(n: number, what: string): Buffer {
    const at = this.advance(n, what);
    return this.buf.subarray(at, at + n);
  }
}
