import { crc32 } from 'node:zlib';
import { BufferSource, type ByteSource } from '../source';
import { decompress } from '../compressed/decompress';
import type { ZipEntry } from './directory';

/** A stored (uncompressed) member seen in place: no copy, so multi-gigabyte tensors are never loaded. */
export class SliceSource implements ByteSource {
  constructor(
    readonly path: string,
    private readonly parent: ByteSource,
    private readonly start: number,
    readonly size: number,
    readonly depth: number,
  ) {}

  async readAt(offset: number, length: number): Promise<Buffer> {
    if (offset < 0 || length < 0) throw new RangeError(`bad read ${offset}+${length}`);
    const n = Math.max(0, Math.min(length, this.size - offset));
    return n === 0 ? Buffer.alloc(0) : this.parent.readAt(this.start + offset, n);
  }
}

export interface OpenedMember {
  source: ByteSource;
  /** The CRC matched (undefined: not checked, to bound the work). */
  crcOk?: boolean;
  /** Decompression stopped at the limit. */
  truncated: boolean;
  error?: string;
}

/**
 * Opens a member for analysis: stored members as a slice of the archive, deflate and bzip2 members
 * decompressed into memory up to `limit` bytes. `checkCrc` reads stored members through once.
 */
export async function openMember(archive: ByteSource, e: ZipEntry, limit: number, checkCrc: boolean, signal?: AbortSignal): Promise<OpenedMember> {
  const path = `${archive.path}!${e.name}`;
  const depth = archive.depth + 1;
  const start = e.dataOffset as number;
  if (e.method === 0) {
    const source = new SliceSource(path, archive, start, Math.min(e.compressedSize, Math.max(0, archive.size - start)), depth);
    if (!checkCrc) return { source, truncated: false };
    let crc = 0;
    for (let off = 0; off < source.size; off += 4 << 20) {
      signal?.throwIfAborted();
      crc = crc32(await source.readAt(off, 4 << 20), crc);
    }
    return { source, truncated: false, crcOk: (crc >>> 0) === e.crc && source.size === e.uncompressedSize };
  }
  const codec = e.method === 8 ? 'deflate-raw' : 'bz2';
  const out = await decompress(codec, archive, { start, end: start + e.compressedSize, limit, signal });
  const source = new BufferSource(path, out.data, depth);
  const crcOk = out.truncated || out.error ? undefined : (crc32(out.data) >>> 0) === e.crc && out.data.length === e.uncompressedSize;
  return { source, truncated: out.truncated, error: out.error, crcOk };
}
