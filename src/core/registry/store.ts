import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, copyFile, link, lstat, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sha256File } from '../hash/sha256';
import { ioError, IoError } from '../util/errors';

const SHA256 = /^[0-9a-f]{64}$/;

export interface PutResult {
  sha256: string;
  path: string;
  /** false when the store already held these bytes (same weights are stored once). */
  added: boolean;
  /** How the bytes got in: a hard link (same filesystem), a verified copy, or nothing (already there). */
  method: 'link' | 'copy' | 'existing';
}

export type ObjectStatus = 'ok' | 'missing' | 'corrupt';

/**
 * Content-addressed artifact store: `ROOT/sha256/ab/cdef...`. Objects are immutable (read-only files) and
 * named by their sha256, so the same weights are stored once whatever model versions reference them.
 */
export class ContentStore {
  constructor(readonly root: string) {}

  objectPath(sha256: string): string {
    if (!SHA256.test(sha256)) throw new IoError(`not a sha256 digest: ${sha256}`);
    return join(this.root, 'sha256', sha256.slice(0, 2), sha256.slice(2));
  }

  /** A fresh folder on the store's filesystem where files wait (read-only) while they are scanned. */
  async newQuarantine(): Promise<string> {
    const dir = join(this.root, 'quarantine', `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(4).toString('hex')}`);
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw ioError(err, dir, 'create');
    }
    return dir;
  }

  async has(sha256: string): Promise<boolean> {
    try {
      return (await stat(this.objectPath(sha256))).isFile();
    } catch {
      return false;
    }
  }

  /**
   * Puts a file whose digest is known (it was hashed in quarantine) into the store: a hard link when the
   * file is on the same filesystem, else a copy that is re-hashed before it is published. The object
   * appears atomically (rename), read-only.
   */
  async put(file: string, sha256: string): Promise<PutResult> {
    const target = this.objectPath(sha256);
    if (await this.has(sha256)) return { sha256, path: target, added: false, method: 'existing' };
    try {
      await mkdir(dirname(target), { recursive: true });
    } catch (err) {
      throw ioError(err, dirname(target), 'create');
    }
    const temp = `${target}.tmp-${randomBytes(4).toString('hex')}`;
    let method: 'link' | 'copy' = 'link';
    try {
      try {
        await link(file, temp);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw err;
        method = 'copy';
        await copyFile(file, temp, constants.COPYFILE_FICLONE);
        const copied = await sha256File(temp);
        if (copied !== sha256) throw new IoError(`the copy of ${file} in the store does not match its digest`, 'check the disk and try again');
      }
      await chmod(temp, 0o444);
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      if (err instanceof IoError) throw err;
      throw ioError(err, target, 'write');
    }
    return { sha256, path: target, added: true, method };
  }

  /** Re-hashes an object on demand: ok, missing, or corrupt (its bytes no longer match its name). */
  async verify(sha256: string, options: { signal?: AbortSignal } = {}): Promise<ObjectStatus> {
    const path = this.objectPath(sha256);
    try {
      const st = await lstat(path);
      if (!st.isFile()) return 'corrupt';
    } catch {
      return 'missing';
    }
    return (await sha256File(path, options)) === sha256 ? 'ok' : 'corrupt';
  }

  /** Removes an object this process just added (rollback of a failed registration). */
  async removeAdded(sha256: string): Promise<void> {
    await rm(this.objectPath(sha256), { force: true });
  }
}
