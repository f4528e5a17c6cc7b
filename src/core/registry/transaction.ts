import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ioError, SovereignError } from '../util/errors';
import { RegistryGit } from './git';

/**
 * A registry change: files written atomically (temp + rename), then one pathspec-limited commit. Any
 * failure before the commit completes restores every file, every created folder and the index entries of
 * those files exactly as they were, so the working tree and `git status` look as if nothing happened.
 */
export class RegistryTransaction {
  private readonly saved = new Map<string, Buffer | null>();
  private readonly createdDirs: string[] = [];
  private readonly git: RegistryGit;

  constructor(readonly root: string) {
    this.git = new RegistryGit(root);
  }

  /** Records a file's current content before something (us, or the audit log) changes it. */
  async snapshot(rel: string): Promise<void> {
    if (this.saved.has(rel)) return;
    try {
      this.saved.set(rel, await readFile(join(this.root, rel)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(err, rel);
      this.saved.set(rel, null);
    }
  }

  /** Creates the parent folders of `rel`, remembering the ones that did not exist (for rollback). */
  async ensureDir(rel: string): Promise<void> {
    const missing: string[] = [];
    for (let d = dirname(join(this.root, rel)); d.length > this.root.length; d = dirname(d)) {
      if (await exists(d)) break;
      missing.unshift(d);
    }
    for (const d of missing) {
      try {
        await mkdir(d);
        this.createdDirs.push(d);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(err, d, 'create');
      }
    }
  }

  async write(rel: string, content: string | Buffer): Promise<void> {
    await this.snapshot(rel);
    await this.ensureDir(rel);
    await writeAtomic(join(this.root, rel), content);
  }

  /** Paths this transaction changed (or may have, through the audit log). */
  paths(): string[] {
    return [...this.saved.keys()];
  }

  /** Commits exactly the touched paths; on failure rolls everything back and rethrows. */
  async commit(message: string): Promise<string> {
    const paths = this.paths();
    const index = await this.git.indexEntries(paths);
    try {
      return await this.git.commitOnly(paths, message);
    } catch (err) {
      await this.git.restoreIndex(paths, index).catch(() => undefined);
      await this.rollback();
      if (err instanceof SovereignError) throw new (err.constructor as typeof SovereignError)(`${err.message} (nothing was changed)`, err.hint, err.exitCode);
      throw err;
    }
  }

  /** Restores every file and removes the folders this transaction created. */
  async rollback(): Promise<void> {
    for (const [rel, content] of this.saved) {
      const abs = join(this.root, rel);
      if (content === null) await rm(abs, { force: true });
      else await writeAtomic(abs, content);
    }
    for (const d of [...this.createdDirs].reverse()) await rmdir(d).catch(() => undefined);
  }
}

export async function writeAtomic(path: string, content: string | Buffer): Promise<void> {
  const temp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temp, content);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw ioError(err, path, 'write');
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
