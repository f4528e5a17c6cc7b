import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { bundleCommit } from '../../../../src/core/engines/native/builds';
import { REPO_ROOT } from '../../../helpers/cli';

/**
 * A finished native build of the bundled llama.cpp, with its build.json: the one scripts/llama-server/build.sh
 * made (CI runs it before the tests; SOVEREIGN_LLAMA_SERVER names its binary, else its cache path). The tests copy
 * it into their own builds dir; they never compile it. In CI a missing build is an error, elsewhere a skip.
 */
export async function requireFinishedBuild(ctx: Mocha.Context): Promise<string> {
  const commit = await bundleCommit();
  const fromEnv = process.env.SOVEREIGN_LLAMA_SERVER;
  const dir = fromEnv ? dirname(dirname(fromEnv)) : join(process.env.SOVEREIGN_LLAMA_SERVER_CACHE ?? join(REPO_ROOT, '.cache', 'llama-server'), commit);
  if (existsSync(join(dir, 'build.json'))) return dir;
  const why = `no finished native build with its build.json in ${dir}: run scripts/llama-server/build.sh (about 10 minutes on 2 cores, offline)`;
  if (process.env.CI) throw new Error(`${why} (CI must build it: .ci/run)`);
  process.stderr.write(`      skipped: ${why}\n`);
  ctx.skip();
}

/** Pids whose command line names `text` (a build's temp folder): the processes of that build. */
export function processesNaming(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const state = /\) (\S) /.exec(readFileSync(`/proc/${entry}/stat`, 'utf8'))?.[1];
      if (cmdline.includes(text) && state !== 'Z') pids.push(Number(entry));
    } catch {
      // ended meanwhile
    }
  }
  return pids;
}

export function running(pid: number): boolean {
  try {
    const state = /\) (\S) /.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
    return state !== undefined && state !== 'Z';
  } catch {
    return false;
  }
}

