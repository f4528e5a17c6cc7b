/**
 * "Load exactly the bytes that were validated." The parent validates a model file and records its sha256; the
 * engine process, right before the native load (and again on every restart after a crash), opens the file,
 * hashes what it reads through that open descriptor, and refuses on any difference. The native loader then
 * reads the SAME open file, not the path again:
 *
 * - GGUF on Linux: llama.cpp opens `/proc/self/fd/N`, the descriptor that was hashed. Renaming or replacing
 *   the path after the hash changes nothing for it.
 * - ONNX without external data: the bytes that were hashed are handed to ONNX Runtime from memory.
 * - Elsewhere (GGUF off Linux, ONNX with external data files) the loader opens the path; afterwards the path
 *   must still name the inode that was hashed.
 *
 * In every case the file's identity (device, inode, size, mtime, ctime) is taken before the hash and compared
 * after the load: an in-place write during the hash or the load changes ctime (nobody can set it back) and
 * the load is refused. What remains is documented in docs/engines.md.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { ioError, RefusedError } from '../util/errors';

const CHUNK = 4 * 1024 * 1024;
/** Bytes kept in memory for a loader that takes a buffer (ONNX protobufs are below 2 GiB). */
const MAX_KEEP = 2 ** 31 - 1;

/** What identifies the content of a file without reading it. */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

function identityOf(s: Stats & { mtimeNs?: bigint; ctimeNs?: bigint }): FileIdentity {
  return { dev: Number(s.dev), ino: Number(s.ino), size: Number(s.size), mtimeNs: s.mtimeNs ?? BigInt(Math.round(s.mtimeMs * 1e6)), ctimeNs: s.ctimeNs ?? BigInt(Math.round(s.ctimeMs * 1e6)) };
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

export async function handleIdentity(handle: FileHandle): Promise<FileIdentity> {
  return identityOf((await handle.stat({ bigint: true })) as unknown as Stats & { mtimeNs: bigint; ctimeNs: bigint });
}

/** sha256 of what an open descriptor reads (from offset 0 to its size); `keep` also returns the bytes. */
export async function hashHandle(handle: FileHandle, size: number, options: { signal?: AbortSignal; keep?: boolean } = {}): Promise<{ sha256: string; bytes?: Buffer }> {
  const hash = createHash('sha256');
  const whole = options.keep ? Buffer.allocUnsafe(size) : undefined;
  const chunk = whole ? undefined : Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, size)));
  let offset = 0;
  while (offset < size) {
    options.signal?.throwIfAborted();
    const target = whole ?? chunk!;
    const at = whole ? offset : 0;
    const { bytesRead } = await handle.read(target, at, Math.min(CHUNK, size - offset), offset);
    if (bytesRead === 0) break; // shorter than its size: the identity check catches the change
    hash.update(target.subarray(at, at + bytesRead));
    offset += bytesRead;
  }
  return { sha256: hash.digest('hex'), bytes: whole?.subarray(0, offset) };
}

export class ModelChangedError extends RefusedError {
  constructor(message: string) {
    super(message, 'the file was modified or replaced after validation: find out what changed it, then validate and load it again (restart `sovereign serve`)');
    this.name = 'RefusedError';
  }
}

export interface PinnedModel {
  /** What the native loader should open: `/proc/self/fd/N` (Linux) or the path. */
  loadPath: string;
  /** The hashed bytes, when asked for and the file is at most 2 GiB (ONNX from memory). */
  bytes?: Buffer;
  /** Throws ModelChangedError when the file changed since it was hashed (call after the native load). */
  verifyUnchanged(loadedFromPath: boolean): Promise<void>;
  close(): Promise<void>;
}

/** Where a descriptor can be opened again by name, so a native loader reads this very file. */
function descriptorPath(fd: number): string | undefined {
  return process.platform === 'linux' && existsSync('/proc/self/fd') ? `/proc/self/fd/${fd}` : undefined;
}

/**
 * Opens `path`, hashes it through the open descriptor and compares with the digest that validation
 * recorded. Throws ModelChangedError on a mismatch (nothing is loaded), IoError when it cannot be read.
 */
export async function pinModelFile(path: string, expectedSha256: string, options: { keepBytes?: boolean; signal?: AbortSignal } = {}): Promise<PinnedModel> {
  if (!/^[0-9a-f]{64}$/.test(expectedSha256)) throw new RefusedError(`refused to load ${path}: no validated sha256 was given to the engine`, 'load models through validateModelFile (openEngine, startServe)');
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw ioError(err, path);
  }
  try {
    const before = await handleIdentity(handle);
    const { sha256, bytes } = await hashHandle(handle, before.size, { signal: options.signal, keep: options.keepBytes === true && before.size <= MAX_KEEP });
    const after = await handleIdentity(handle);
    if (!sameIdentity(before, after)) throw new ModelChangedError(`refused to load ${path}: the file was being written while the engine checked it; nothing was loaded`);
    if (sha256 !== expectedSha256) {
      throw new ModelChangedError(`refused to load ${path}: its sha256 is now ${sha256}, not the ${expectedSha256} that was validated; nothing was loaded`);
    }
    const viaFd = descriptorPath(handle.fd);
    return {
      loadPath: viaFd ?? path,
      bytes,
      verifyUnchanged: async (loadedFromPath) => {
        const now = await handleIdentity(handle);
        let changed = !sameIdentity(before, now);
        if (!changed && loadedFromPath) {
          // The loader opened the path: it must still name the inode that was hashed.
          const named = await stat(path, { bigint: true }).catch(() => undefined);
          changed = named === undefined || Number(named.dev) !== before.dev || Number(named.ino) !== before.ino;
        }
        if (changed) throw new ModelChangedError(`refused ${path}: the file changed while the engine loaded it (it no longer is the validated ${expectedSha256}); the model was unloaded`);
      },
      close: () => handle.close(),
    };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}
