import { open, type FileHandle } from 'node:fs/promises';
import { ioError } from '../util/errors';

/**
 * Random access to bytes with hard bounds: readers ask for byte ranges and never load a whole
 * multi-gigabyte model into memory. A file on disk, or bytes already in memory (a decompressed stream,
 * a zip member).
 */
export interface ByteSource {
  /** A name for messages: the file path, or `archive.zip!member`. */
  readonly path: string;
  readonly size: number;
  /** Reads up to `length` bytes at `offset` (fewer at the end). */
  readAt(offset: number, length: number): Promise<Buffer>;
  /** How deep in nested containers this source is (0 for a file on disk). */
  readonly depth: number;
  /**
   * The file name the bytes go by when it is not the last part of `path` (the content of `model.pkl.gz` is
   * `model.pkl`): what a loader would be told the file is. See claims.ts.
   */
  readonly claimedName?: string;
}

/** Bytes in memory, e.g. a decompressed member, seen as a ByteSource. */
export class BufferSource implements ByteSource {
  constructor(
    readonly path: string,
    private readonly data: Buffer,
    readonly depth = 1,
    readonly claimedName?: string,
  ) {}

  get size(): number {
    return this.data.length;
  }

  async readAt(offset: number, length: number): Promise<Buffer> {
    if (offset < 0 || length < 0) throw new RangeError(`bad read ${offset}+${length}`);
    return this.data.subarray(Math.min(offset, this.data.length), Math.min(offset + length, this.data.length));
  }
}

/** A file on disk. */
export class FileSource implements ByteSource {
  readonly depth = 0;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<FileSource> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      throw ioError(err, path);
    }
    const stat = await handle.stat();
    return new FileSource(path, handle, stat.size);
  }

  async readAt(offset: number, length: number): Promise<Buffer> {
    if (offset < 0 || length < 0) throw new RangeError(`bad read ${offset}+${length}`);
    const n = Math.max(0, Math.min(length, this.size - offset));
    const buf = Buffer.allocUnsafe(n);
    let done = 0;
    while (done < n) {
      const { bytesRead } = await this.handle.read(buf, done, n - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === n ? buf : buf.subarray(0, done);
  }

  /** The open descriptor (to hash or stat the very file that was analysed). */
  get fileHandle(): FileHandle {
    return this.handle;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Thrown by ByteCursor when a read would pass the end of its buffer. */
export class OutOfBoundsError extends Error {
  constructor(
    readonly offset: number,
    readonly wanted: number,
    readonly available: number,
  ) {
    super(`read of ${wanted} bytes at offset ${offset} passes the end of the data (${available} bytes left)`);
  }
}

/** A little-endian cursor over a buffer with a bounds check on every read. */
export class ByteCursor {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    /** Absolute file offset of buf[0], so error messages name file offsets. */
    readonly base = 0,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  get absolute(): number {
    return this.base + this.pos;
  }

  private need(n: number): number {
    if (n < 0 || n > this.remaining) throw new OutOfBoundsError(this.absolute, n, this.remaining);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(): number { return this.buf.readUInt8(this.need(1)); }
  i8(): number { return this.buf.readInt8(this.need(1)); }
  u16(): number { return this.buf.readUInt16LE(this.need(2)); }
  i16(): number { return this.buf.readInt16LE(this.need(2)); }
  u32(): number { return this.buf.readUInt32LE(this.need(4)); }
  i32(): number { return this.buf.readInt32LE(this.need(4)); }
  u64(): bigint { return this.buf.readBigUInt64LE(this.need(8)); }
  i64(): bigint { return this.buf.readBigInt64LE(this.need(8)); }
  f32(): number { return this.buf.readFloatLE(this.need(4)); }
  f64(): number { return this.buf.readDoubleLE(this.need(8)); }

  bytes(n: number): Buffer {
    const at = this.need(n);
    return this.buf.subarray(at, at + n);
  }

  skip(n: number): void {
    this.need(n);
  }
}
