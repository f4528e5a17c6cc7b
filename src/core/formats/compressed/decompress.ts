import { createGunzip, createInflate, createInflateRaw } from 'node:zlib';
import type { Transform } from 'node:stream';
import unbzip2 from 'unbzip2-stream';
import type { ByteSource } from '../source';

/**
 * Bounded decompression of a byte range: the output stops at `limit` bytes (a decompression bomb cannot
 * exhaust memory), the input is read in chunks (a multi-gigabyte archive is never loaded whole), and a
 * corrupt stream returns what was decompressed so far with the error, so callers still scan it.
 */

export type Codec = 'gzip' | 'zlib' | 'deflate-raw' | 'bz2' | 'xz';

export interface Decompressed {
  data: Buffer;
  /** The output reached `limit`: more data was left undecompressed. */
  truncated: boolean;
  /** Compressed bytes fed in. */
  consumed: number;
  error?: string;
}

export interface DecompressOptions {
  start?: number;
  end?: number;
  limit: number;
  signal?: AbortSignal;
}

const READ_CHUNK = 1 << 20;

export async function decompress(codec: Codec, source: ByteSource, options: DecompressOptions): Promise<Decompressed> {
  const start = options.start ?? 0;
  const end = Math.min(options.end ?? source.size, source.size);
  if (codec === 'xz') return unxz(source, start, end, options);
  const stream: Transform = codec === 'gzip' ? createGunzip() : codec === 'zlib' ? createInflate() : codec === 'deflate-raw' ? createInflateRaw() : (unbzip2() as unknown as Transform);
  return pump(stream, source, start, end, options);
}

async function pump(stream: Transform, source: ByteSource, start: number, end: number, options: DecompressOptions): Promise<Decompressed> {
  const chunks: Buffer[] = [];
  let total = 0;
  let truncated = false;
  let error: string | undefined;
  let finished = false;
  const done = new Promise<void>((resolve) => {
    const finish = () => {
      finished = true;
      resolve();
    };
    stream.on('data', (c: Buffer) => {
      if (finished) return;
      if (total + c.length >= options.limit) {
        chunks.push(c.subarray(0, options.limit - total));
        total = options.limit;
        truncated = true;
        finish();
        stream.destroy?.();
        return;
      }
      chunks.push(c);
      total += c.length;
    });
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', (err: Error) => {
      error ??= err.message;
      finish();
    });
  });
  let consumed = 0;
  for (let off = start; off < end && !finished; off += READ_CHUNK) {
    options.signal?.throwIfAborted();
    const buf = await source.readAt(off, Math.min(READ_CHUNK, end - off));
    if (buf.length === 0) break;
    consumed += buf.length;
    const ok = stream.write(buf);
    // Let the decompressor drain (or finish) before reading more input.
    if (!ok) await Promise.race([new Promise((r) => stream.once('drain', r)), done]);
    else await new Promise((r) => setImmediate(r));
  }
  if (!finished) stream.end();
  await done;
  return { data: Buffer.concat(chunks, total), truncated, consumed, error };
}

async function unxz(source: ByteSource, start: number, end: number, options: DecompressOptions): Promise<Decompressed> {
  // xz-decompress is CommonJS with a wasm decoder, loaded lazily (external in bundles). Through import()
  // its exports may arrive only as `default` (Node's CJS interop cannot see webpack-built named exports).
  type XzModule = typeof import('xz-decompress');
  const mod = (await import('xz-decompress')) as XzModule & { default?: XzModule };
  const XzReadableStream = mod.XzReadableStream ?? mod.default?.XzReadableStream;
  if (typeof XzReadableStream !== 'function') throw new Error('the xz decoder (xz-decompress) could not be loaded');
  let off = start;
  const input = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (off >= end) {
        controller.close();
        return;
      }
      const buf = await source.readAt(off, Math.min(READ_CHUNK, end - off));
      if (buf.length === 0) {
        controller.close();
        return;
      }
      off += buf.length;
      controller.enqueue(new Uint8Array(buf.buffer, buf.byteOffset, buf.length));
    },
  });
  const reader = new XzReadableStream(input).getReader();
  const chunks: Buffer[] = [];
  let total = 0;
  let truncated = false;
  let error: string | undefined;
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      const { value, done } = await reader.read();
      if (done) break;
      const c = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      if (total + c.length >= options.limit) {
        chunks.push(c.subarray(0, options.limit - total));
        total = options.limit;
        truncated = true;
        await reader.cancel().catch(() => undefined);
        break;
      }
      chunks.push(Buffer.from(c));
      total += c.length;
    }
  } catch (err) {
    if ((err as Error)?.name === 'AbortError') throw err;
    error = (err as Error)?.message ?? String(err);
  }
  return { data: Buffer.concat(chunks, total), truncated, consumed: off - start, error };
}
