/**
 * `npm run test:e2e` runs the COMPILED extension (dist/) and extension-host suite (out/test/extension/)
 * inside VS Code. Rebuild when a source is newer than those outputs, so the e2e run never tests stale
 * code; skip the build when everything is current (`npm test` has just built).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './tooling';

const OUTPUTS = ['dist/extension.js', 'dist/extension-main.js', 'dist/core-worker.js', 'dist/cli.js', 'out/test/extension/index.js', 'out/test/extension-multiroot/index.js'];
const SOURCES = ['src', 'test/extension', 'test/extension-multiroot', 'test/fixtures', 'package.json', 'esbuild.mjs', 'tsconfig.json'];

function newestMtime(path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

export function isBuildStale(root = REPO_ROOT): boolean {
  const oldestOutput = Math.min(...OUTPUTS.map((o) => statSync(join(root, o), { throwIfNoEntry: false })?.mtimeMs ?? 0));
  const newestSource = Math.max(...SOURCES.map((s) => newestMtime(join(root, s))));
  return oldestOutput === 0 || newestSource > oldestOutput;
}

export function ensureBuilt(root = REPO_ROOT): void {
  // SOVEREIGN_SKIP_BUILD=1: use dist/ and out/ as they are (e.g. while someone else's half-done change
  // keeps tsc red and you have built what you need with `node esbuild.mjs`).
  if (process.env.SOVEREIGN_SKIP_BUILD === '1' || !isBuildStale(root)) return;
  process.stderr.write('e2e: sources changed since the last build: npm run build\n');
  const result = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write('e2e: the build failed; fix it first (the e2e run tests the compiled extension).\n');
    process.exit(result.status ?? 2);
  }
}

if (require.main === module) ensureBuilt();
