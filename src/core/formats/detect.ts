import type { ModelFormat } from './types';

/** Bytes the detector needs from the start and the end of a file. */
export const DETECT_HEAD_BYTES = 4096;
/** 22: a ZIP end-of-central-directory record without comment, for archives with bytes prepended. */
export const DETECT_TAIL_BYTES = 22;

const HDF5_MAGIC = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const NUMPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/**
 * Opcodes a protocol 0/1 pickle commonly starts with: MARK, EMPTY_DICT, EMPTY_LIST, EMPTY_TUPLE, GLOBAL,
 * NONE, INT, LONG, STRING, UNICODE, FLOAT, DICT, LIST, TUPLE, INST, BININT*, BINUNICODE, BINSTRING, SHORT_BINSTRING.
 */
const OLD_PICKLE_FIRST = new Set('(}])cNILSVFdltiJKMXTU'.split('').map((c) => c.charCodeAt(0)));

/**
 * Detects a model file's format from its content, never its name. `head` is the first bytes (up to
 * DETECT_HEAD_BYTES), `tail` the last bytes (up to DETECT_TAIL_BYTES).
 */
export function detectFormat(head: Buffer, tail: Buffer, size: number): ModelFormat {
  if (head.length >= 4 && head.toString('latin1', 0, 4) === 'GGUF') return 'gguf';
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 0x03 || head[2] === 0x05) && (head[3] === 0x04 || head[3] === 0x06)) return 'zip';
  if (head.subarray(0, 6).equals(NUMPY_MAGIC)) return 'numpy';
  if (head.subarray(0, 8).equals(HDF5_MAGIC)) return 'hdf5';
  if (head.subarray(0, 6).equals(XZ_MAGIC)) return 'xz';
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.toString('latin1', 0, 3) === 'BZh' && head[3] >= 0x31 && head[3] <= 0x39) return 'bz2';
  if (looksLikeCompressedJoblib(head)) return 'joblib';
  if (looksLikeSafetensors(head, size)) return 'safetensors';
  // Protocol 2+ pickles start with PROTO n.
  if (head.length >= 2 && head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) return 'pickle';
  if (looksLikeOnnx(head)) return 'onnx';
  // Protocol 0/1 pickles have no header: a plausible first opcode and STOP ('.') as the last byte.
  if (head.length >= 2 && OLD_PICKLE_FIRST.has(head[0]) && tail.length > 0 && tail[tail.length - 1] === 0x2e) return 'pickle';
  // A ZIP with bytes prepended (self-extractor, polyglot): found by its end record instead of its start.
  if (tail.length >= 22 && tail.readUInt32LE(tail.length - 22) === 0x06054b50) return 'zip';
  return 'unknown';
}

/**
 * joblib.dump(compress=...) output that is not gzip/bz2/xz: a zlib stream (valid header check bits, no
 * preset dictionary), the pre-0.10 "ZF0x" + zlib format, lzma "alone" (']\0\0') and lz4 frames.
 */
function looksLikeCompressedJoblib(head: Buffer): boolean {
  if (head.length >= 4 && head.toString('latin1', 0, 4) === 'ZF0x') return true;
  if (head.length >= 2 && head[0] === 0x78 && (head[0] * 256 + head[1]) % 31 === 0 && (head[1] & 0x20) === 0) return true;
  if (head.length >= 13 && head[0] === 0x5d && head[1] === 0x00 && head[2] === 0x00) return true;
  return head.length >= 4 && head.readUInt32LE(0) === 0x184d2204;
}

/**
 * safetensors: u64 little-endian header length, then a JSON object. A header that starts `{"` counts even
 * when the length is corrupt (larger than the file), so the safetensors reader reports the corruption
 * instead of the file passing as "unknown".
 */
function looksLikeSafetensors(head: Buffer, size: number): boolean {
  if (head.length < 10) return false;
  const n = head.readBigUInt64LE(0);
  let i = 8;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09)) i++;
  if (head[i] !== 0x7b) return false; // '{'
  if (n >= 2n && n <= BigInt(size - 8)) return true;
  return head[i + 1] === 0x22; // '{"': a JSON object with a key, improbable in other binary data
}

/** ModelProto field numbers and their wire types (0 varint, 2 length-delimited). */
const ONNX_MODEL_FIELDS: ReadonlyMap<number, number> = new Map([
  [1, 0], // ir_version
  [2, 2], // producer_name
  [3, 2], // producer_version
  [4, 2], // domain
  [5, 0], // model_version
  [6, 2], // doc_string
  [7, 2], // graph
  [8, 2], // opset_import
  [14, 2], // metadata_props
  [20, 2], // training_info
  [25, 2], // functions
  [26, 2], // configuration
]);

/**
 * ONNX has no magic number: walk the protobuf fields in the head and accept only ModelProto fields with
 * the right wire types, and require `ir_version` or `graph` among them.
 */
export function looksLikeOnnx(head: Buffer): boolean {
  let pos = 0;
  let fields = 0;
  let sawAnchor = false;
  const varint = (): number | undefined => {
    let result = 0;
    let shift = 0;
    while (pos < head.length && shift < 56) {
      const b = head[pos++];
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
    return undefined;
  };
  while (pos < head.length && fields < 16) {
    const key = varint();
    if (key === undefined) return sawAnchor && fields >= 1;
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (ONNX_MODEL_FIELDS.get(field) !== wire) return false;
    if (field === 1 || field === 7) sawAnchor = true;
    if (wire === 0) {
      if (varint() === undefined) return sawAnchor;
    } else {
      const len = varint();
      if (len === undefined) return sawAnchor;
      if (field === 7) return true; // the graph: enough evidence; it may run far past the head
      pos += len;
    }
    fields++;
  }
  return sawAnchor && fields >= 1;
}
