import type { Finding } from '../findings';
import { baseName, innerName } from '../claims';
import { BufferSource } from '../source';
import type { ContainerAnalyzer, FormatAnalysis, ModelFormat } from '../types';
import { decompress, type Codec } from './decompress';

/** Decompressed content is held in memory up to this size; more is a finding (bomb or too big to scan). */
export const DECOMPRESS_LIMIT = 512 << 20;
const BOMB_RATIO = 1000;
const BOMB_MIN_SIZE = 64 << 20;
/** joblib's pre-0.10 compressed format: "ZF", the length in hex padded to 19 bytes, then a zlib stream. */
const ZF_HEADER = 21;

interface Wrapper {
  codec: Codec | 'lzma-alone' | 'lz4';
  format: ModelFormat;
  start: number;
}

/** The compression wrapper, by magic bytes (joblib's own compressors included). */
export function identifyWrapper(head: Buffer): Wrapper | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return { codec: 'gzip', format: 'gzip', start: 0 };
  if (head.toString('latin1', 0, 3) === 'BZh') return { codec: 'bz2', format: 'bz2', start: 0 };
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return { codec: 'xz', format: 'xz', start: 0 };
  if (head.toString('latin1', 0, 4) === 'ZF0x') return { codec: 'zlib', format: 'joblib', start: ZF_HEADER };
  if (head.length >= 2 && head[0] === 0x78 && (head[0] * 256 + head[1]) % 31 === 0 && (head[1] & 0x20) === 0) return { codec: 'zlib', format: 'joblib', start: 0 };
  if (head.length >= 3 && head[0] === 0x5d && head[1] === 0x00 && head[2] === 0x00) return { codec: 'lzma-alone', format: 'joblib', start: 0 };
  if (head.length >= 4 && head.readUInt32LE(0) === 0x184d2204) return { codec: 'lz4', format: 'joblib', start: 0 };
  return undefined;
}

/**
 * gzip, bz2 and xz files, and joblib's compressed dumps (zlib, "ZF" zlib, lzma, lz4): decompressed with a
 * hard output bound, then analysed by content like any file (the inner pickle, tar, zip...).
 */
export const analyzeCompressed: ContainerAnalyzer = async (source, options, analyzeMember) => {
  const head = await source.readAt(0, 32);
  const wrapper = identifyWrapper(head);
  if (!wrapper) return { format: 'unknown', facts: {}, findings: [] };
  if (wrapper.codec === 'lzma-alone' || wrapper.codec === 'lz4') {
    return {
      format: wrapper.format,
      facts: { summary: { compression: wrapper.codec } },
      findings: [{ rule: 'compressed/unsupported', severity: 'high', message: `${wrapper.codec} compression (a joblib compressor) cannot be decompressed by this scanner: the content is not scanned`, location: source.path }],
    };
  }
  const out = await decompress(wrapper.codec, source, { start: wrapper.start, limit: DECOMPRESS_LIMIT, signal: options.signal });
  if (wrapper.codec === 'zlib' && out.data.length === 0 && out.error) {
    // Two bytes that happen to look like a zlib header, not a joblib dump.
    return { format: 'unknown', facts: {}, findings: [] };
  }
  const findings: Finding[] = [];
  if (out.truncated) {
    findings.push({ rule: 'compressed/too-large', severity: 'high', message: `decompresses to more than ${DECOMPRESS_LIMIT} bytes: only the start was scanned (a decompression bomb, or too big to check)`, location: source.path });
  }
  if (out.data.length >= BOMB_MIN_SIZE && out.data.length > out.consumed * BOMB_RATIO) {
    findings.push({ rule: 'compressed/bomb', severity: 'high', message: `compression ratio above ${BOMB_RATIO}:1 (${out.consumed} -> ${out.data.length}+ bytes): a decompression bomb`, location: source.path });
  }
  if (out.error) {
    findings.push({ rule: 'compressed/corrupt', severity: 'high', message: `the ${wrapper.codec} stream is corrupt after ${out.data.length} bytes (${out.error}): loaders may see other content`, location: source.path });
  }
  // The content goes by the outer name without its compression suffix (model.pkl.gz holds model.pkl).
  const outerName = baseName(source.claimedName ?? source.path);
  const inner: FormatAnalysis = await analyzeMember(new BufferSource(`${source.path}!${wrapper.codec}`, out.data, source.depth + 1, innerName(outerName) ?? outerName), options);
  findings.push(...inner.findings);
  const innerSummary = (inner.facts.summary && typeof inner.facts.summary === 'object' ? inner.facts.summary : {}) as Record<string, unknown>;
  const format: ModelFormat = wrapper.format === 'joblib' || inner.format === 'joblib' ? 'joblib' : wrapper.format;
  return {
    format,
    facts: {
      summary: { compression: wrapper.codec, decompressedBytes: out.data.length, inner: inner.format, ...innerSummary },
      inner: inner.facts,
      ...(Array.isArray(inner.facts.globals) ? { globals: inner.facts.globals } : {}),
    },
    findings,
  };
};
