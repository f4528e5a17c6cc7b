import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { ioError } from '../util/errors';

/**
 * Writes a file so that readers see the old content or the new, never half of it: a temporary file beside
 * it, then a rename. The temporary file is removed when anything fails.
 */
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
