/**
 * CI's and the benchmarks' llama-server: the CPU native build of the bundled llama.cpp, made by the product's own
 * builder (`sovereign engine build`, src/core/engines/native/build.ts) into
 * ${SOVEREIGN_LLAMA_SERVER_CACHE:-<repo>/.cache/llama-server}, which is its builds dir (so it has a build.json
 * with the binary's sha256). Run through build.sh:
 *
 *   build.ts            build if missing; the binary's path on stdout, progress on stderr
 *   build.ts --print    the path the binary has (or would have); builds nothing
 *
 * LLAMA_SERVER_BUILD_JOBS: parallel compile jobs (default: the number of CPUs).
 */
import { join, resolve } from 'node:path';
import { buildDirFor, bundleCommit } from '../../src/core/engines/native/builds';
import { main } from '../../src/cli/main';
import { describeError } from '../../src/core/util/errors';

async function run(argv: string[]): Promise<number> {
  const buildsDir = process.env.SOVEREIGN_LLAMA_SERVER_CACHE || join(resolve(__dirname, '..', '..'), '.cache', 'llama-server');
  if (argv[0] === '--print') {
    process.stdout.write(`${join(buildDirFor(buildsDir, await bundleCommit(), 'cpu'), 'bin', 'llama-server')}\n`);
    return 0;
  }
  if (argv.length) {
    process.stderr.write(`llama-server build: unknown argument ${argv[0]} (only --print)\n`);
    return 2;
  }
  const jobs = process.env.LLAMA_SERVER_BUILD_JOBS;
  return main(['engine', 'build', '--backend', 'cpu', '--dir', buildsDir, ...(jobs ? ['--jobs', jobs] : [])]);
}

run(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`llama-server build: ${describeError(err)}\n`);
    process.exitCode = 2;
  },
);
