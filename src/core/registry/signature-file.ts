import { constants } from 'node:fs';
import { lstat, open, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep, win32 } from 'node:path';

/** A signature bundle is a few KB; anything near this is not one. */
export const MAX_SIGNATURE_BYTES = 1024 * 1024;
/** The longest `signature.path` a manifest may hold (the schema says the same). */
export const MAX_SIGNATURE_PATH = 1024;

/** Why a manifest's `signature.path` was not read: `missing` (ENOENT) or `unsafe` (refused). */
export class SignaturePathError extends Error {
  constructor(
    message: string,
    readonly kind: 'missing' | 'unsafe',
  ) {
    super(message);
  }
}

/**
 * Checks the text of a manifest's `signature.path` (no file system access): relative to the workspace
 * root, forward slashes, no `..` or empty segments, no absolute or drive path, bounded length. Returns
 * the problem, or undefined when it is acceptable.
 */
export function signaturePathProblem(rel: unknown): string | undefined {
  if (typeof rel !== 'string' || rel === '') return 'it is empty or not a string';
  if (rel.length > MAX_SIGNATURE_PATH) return `it is longer than ${MAX_SIGNATURE_PATH} characters`;
  if (rel.includes('\0')) return 'it contains a NUL character';
  if (rel.includes('\\')) return 'it contains a backslash (use forward slashes)';
  if (isAbsolute(rel) || win32.isAbsolute(rel) || /^[A-Za-z]:/.test(rel)) return 'it is an absolute path';
  const segments = rel.split('/');
  if (segments.some((s) => s === '..')) return 'it contains a ".." segment';
  if (segments.some((s) => s === '' || s === '.')) return 'it contains an empty or "." segment';
  return undefined;
}

/**
 * Reads the signature file a manifest names, refusing anything that is not a regular file inside the
 * repository: a path that escapes (`..`, absolute, through a symbolic link), a symbolic link itself, a
 * FIFO, a device or a socket (opened non-blocking, never waited on), or a file over 1 MiB (never read
 * whole). Throws SignaturePathError saying which.
 */
export async function readSignatureFile(root: string, rel: string): Promise<Buffer> {
  const problem = signaturePathProblem(rel);
  if (problem) throw new SignaturePathError(`signature path "${String(rel).slice(0, 200)}" is refused: ${problem}; it must be a path inside the repository`, 'unsafe');
  const abs = resolve(root, rel);
  let st;
  try {
    st = await lstat(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new SignaturePathError(`signature file ${rel} is missing`, 'missing');
    throw new SignaturePathError(`signature file ${rel} cannot be read: ${(err as Error).message}`, 'unsafe');
  }
  if (st.isSymbolicLink()) throw new SignaturePathError(`signature file ${rel} is a symbolic link (refused: it must be the file itself)`, 'unsafe');
  if (!st.isFile()) throw new SignaturePathError(`signature file ${rel} is not a regular file (a ${kindOf(st)}): refused`, 'unsafe');
  // A folder on the way may be a link out of the repository: the real path must stay inside.
  const [realRoot, realFile] = await Promise.all([realpath(root), realpath(abs)]);
  const inside = relative(realRoot, realFile);
  if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) {
    throw new SignaturePathError(`signature file ${rel} resolves to ${realFile}, outside the repository: refused`, 'unsafe');
  }
  if (st.size > MAX_SIGNATURE_BYTES) throw new SignaturePathError(`signature file ${rel} is ${st.size} bytes, over the ${MAX_SIGNATURE_BYTES}-byte limit for a signature bundle: refused`, 'unsafe');
  // O_NOFOLLOW + O_NONBLOCK: a link or FIFO swapped in after the checks is neither followed nor waited on.
  let handle;
  try {
    handle = await open(abs, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw new SignaturePathError(`signature file ${rel} cannot be opened safely: ${(err as Error).message}`, 'unsafe');
  }
  try {
    const fst = await handle.stat();
    if (!fst.isFile()) throw new SignaturePathError(`signature file ${rel} is not a regular file: refused`, 'unsafe');
    const buf = Buffer.alloc(Math.min(fst.size, MAX_SIGNATURE_BYTES) + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n === buf.length) break;
    }
    if (n > MAX_SIGNATURE_BYTES) throw new SignaturePathError(`signature file ${rel} is over the ${MAX_SIGNATURE_BYTES}-byte limit for a signature bundle: refused`, 'unsafe');
    return buf.subarray(0, n);
  } finally {
    await handle.close();
  }
}

function kindOf(st: { isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean; isDirectory(): boolean }): string {
  if (st.isFIFO()) return 'FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'device';
  if (st.isSocket()) return 'socket';
  if (st.isDirectory()) return 'folder';
  return 'special file';
}
