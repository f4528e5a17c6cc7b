import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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


/**
 * A small C++ project with a `llama-server` target (it answers `--version` like llama-server), committed to a git
 * repository and written as a git bundle: the builder's whole pipeline (clone, cmake configure, compile with
 * progress, --version, sha256, install) runs for real on it in seconds. `broken` writes one that does not compile.
 */
export function writeToyBundle(dir: string, options: { broken?: boolean } = {}): { bundle: string; commit: string } {
  const repo = join(dir, options.broken ? 'broken-src' : 'toy-src');
  mkdirSync(repo, { recursive: true });
  writeFileSync(
    join(repo, 'CMakeLists.txt'),
    'cmake_minimum_required(VERSION 3.14)\nproject(toy CXX)\nset(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)\nadd_executable(llama-server server.cpp)\nadd_executable(other other.cpp)\n',
  );
  writeFileSync(
    join(repo, 'server.cpp'),
    options.broken
      ? '#include <cstdio>\nint main() { this is not C++; }\n'
      : '#include <cstdio>\n#include <cstring>\nint main(int argc, char** argv) {\n  if (argc > 1 && std::strcmp(argv[1], "--version") == 0) { std::puts("version: 1 (toy)"); return 0; }\n  return 1;\n}\n',
  );
  writeFileSync(join(repo, 'other.cpp'), 'int main() { return 0; }\n');
  const git = (...args: string[]): string => {
    const r = spawnSync('git', args, { cwd: repo, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  git('init', '-q');
  git('add', '.');
  git('commit', '-qm', 'toy');
  const bundle = join(dir, options.broken ? 'broken.bundle' : 'toy.bundle');
  git('bundle', 'create', '-q', bundle, 'HEAD');
  return { bundle, commit: git('rev-parse', 'HEAD') };
}
