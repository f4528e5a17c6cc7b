import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { userCacheDir } from '../util/user-cache';

/**
 * File digests (and other per-file facts such as ldd output) cached by the file's identity: device,
 * inode, size, mtime and ctime, the way git's index avoids re-reading unchanged files. Re-hashing the
 * ~200 MB that go into the images on every deploy costs seconds; a stat costs microseconds.
 */
export class FileFactCache {
  private data: Record<string, { k: string; v: string }> = {};
  private dirty = false;

  private constructor(private readonly file: string) {}

  static async open(file = defaultCacheFile()): Promise<FileFactCache> {
    const cache = new FileFactCache(file);
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as { v?: number; entries?: Record<string, { k: string; v: string }> };
      if (parsed.v === 1 && parsed.entries && typeof parsed.entries === 'object') cache.data = parsed.entries;
    } catch {
      // no cache yet, or a damaged one: start empty (it is only an optimisation).
    }
    return cache;
  }

  /** The fact `kind` about `path`, computed by `compute` unless the file is unchanged since last time. */
  async get(kind: string, path: string, compute: () => Promise<string>): Promise<string> {
    const st = await stat(path);
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    const id = `${kind}\0${path}`;
    const hit = this.data[id];
    if (hit && hit.k === key) return hit.v;
    const v = await compute();
    this.data[id] = { k: key, v };
    this.dirty = true;
    return v;
  }

  sha256(path: string): Promise<string> {
    return this.get('sha256', path, () => sha256Stream(path));
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    try {
      await mkdir(dirname(this.file), { recursive: true });
      const temp = `${this.file}.${randomBytes(4).toString('hex')}`;
      await writeFile(temp, JSON.stringify({ v: 1, entries: this.data }));
      await rename(temp, this.file);
      this.dirty = false;
    } catch {
      // a read-only home: the next deploy hashes again, still correct.
    }
  }
}

function defaultCacheFile(): string {
  return join(userCacheDir(), 'deploy-file-facts.json');
}

function sha256Stream(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}
