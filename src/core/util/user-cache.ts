import { homedir } from 'node:os';
import { join } from 'node:path';

/** The per-user cache folder of the product: `$XDG_CACHE_HOME/sovereign`, else `~/.cache/sovereign`. */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sovereign');
}
