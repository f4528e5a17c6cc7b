/**
 * `npm run check:npm-ci [-- --dry-run]`: proves that `npm ci` works on every platform the extension ships for,
 * from this package.json, package-lock.json and .npmrc, copied into a temp folder:
 *
 * 1. the lock: every package that names an os/cpu is optional, or accepts every target (npm refuses a
 *    required package for another platform with EBADPLATFORM, and checks required packages against the REAL
 *    machine, so `--os/--cpu` alone would not catch it);
 * 2. `npm ci --os=darwin --cpu=arm64 --ignore-scripts` and `--os=win32 --cpu=x64`, and a plain `npm ci` for this
 *    machine: each installs its own node-llama-cpp build and none of the GPU packages. Prints node_modules' size.
 *
 * Uses the npm registry (build time, like `npm ci` itself). Exit 0 ok, 1 a check failed, 2 npm could not run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { productRoot } from '../../src/core/deploy/product-root';

const ROOT = productRoot(__dirname);

interface LockPackage {
  os?: string[];
  cpu?: string[];
  optional?: boolean;
  name?: string;
}

const PLATFORMS = [
  { os: 'darwin', cpu: 'arm64', llama: 'mac-arm64-metal' },
  { os: 'win32', cpu: 'x64', llama: 'win-x64' },
  { os: process.platform, cpu: process.arch, llama: process.platform === 'linux' ? `linux-${process.arch}` : undefined, native: true },
];
const TARGETS = [['linux', 'x64'], ['linux', 'arm64'], ['darwin', 'arm64'], ['darwin', 'x64'], ['win32', 'x64']] as const;
const GPU = /^(linux|win)-x64-(cuda|cuda-ext|vulkan)$/;

const accepts = (list: string[] | undefined, value: string): boolean => !list || (list.some((v) => !v.startsWith('!')) ? list.includes(value) : !list.includes(`!${value}`));

/** Required (non-optional) lock entries that some target's npm would refuse. */
export function platformBlockers(lock: { packages: Record<string, LockPackage> }): string[] {
  const problems: string[] = [];
  for (const [path, p] of Object.entries(lock.packages)) {
    if (!path || p.optional || (!p.os && !p.cpu)) continue;
    for (const [os, cpu] of TARGETS) if (!accepts(p.os, os) || !accepts(p.cpu, cpu)) problems.push(`${path} (os ${p.os?.join(',') ?? 'any'}, cpu ${p.cpu?.join(',') ?? 'any'}) is required but refuses ${os}-${cpu}`);
  }
  return problems;
}

function du(dir: string): string {
  const r = spawnSync('du', ['-sh', dir], { encoding: 'utf8' });
  return r.stdout.split('\t')[0] ?? '?';
}

async function main(): Promise<void> {
  const dryRun = process.argv.includes('--dry-run');
  let failed = false;
  const fail = (line: string): void => {
    failed = true;
    process.stderr.write(`check:npm-ci: FAIL ${line}\n`);
  };
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage> };
  for (const problem of platformBlockers(lock)) fail(problem);
  for (const p of PLATFORMS) {
    const dir = await mkdtemp(join(tmpdir(), `sovereign-npm-ci-${p.os}-${p.cpu}-`));
    try {
      for (const f of ['package.json', 'package-lock.json', '.npmrc']) await copyFile(join(ROOT, f), join(dir, f));
      const args = ['ci', '--ignore-scripts', '--no-audit', '--no-fund', ...(p.native ? [] : [`--os=${p.os}`, `--cpu=${p.cpu}`]), ...(dryRun ? ['--dry-run'] : [])];
      const started = Date.now();
      const r = spawnSync('npm', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true' } });
      const label = `npm ${args.join(' ')}`;
      if (r.status !== 0) {
        fail(`${label} exited ${r.status}:\n${r.stderr.split('\n').filter((l) => !/EBADENGINE/.test(l)).slice(0, 20).join('\n')}`);
        continue;
      }
      if (dryRun) {
        process.stdout.write(`${p.os}-${p.cpu}: ${label}: ok (dry run, ${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
        continue;
      }
      const llamaDir = join(dir, 'node_modules', '@node-llama-cpp');
      const installed = existsSync(llamaDir) ? readdirSync(llamaDir) : [];
      if (p.llama && !installed.includes(p.llama)) fail(`${p.os}-${p.cpu}: @node-llama-cpp/${p.llama} was not installed (got ${installed.join(', ') || 'none'})`);
      const gpu = installed.filter((n) => GPU.test(n));
      const nested = join(dir, 'node_modules', 'node-llama-cpp', 'node_modules', '@node-llama-cpp');
      if (existsSync(nested)) gpu.push(...readdirSync(nested).map((n) => `node-llama-cpp/node_modules/@node-llama-cpp/${n}`));
      if (gpu.length) fail(`${p.os}-${p.cpu}: GPU packages were installed: ${gpu.join(', ')}`);
      process.stdout.write(`${p.os}-${p.cpu}: ${label}: ok in ${((Date.now() - started) / 1000).toFixed(0)} s, node_modules ${du(join(dir, 'node_modules'))}, @node-llama-cpp: ${installed.join(', ')}\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  process.exit(failed ? 1 : 0);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`check:npm-ci: ${(error as Error).message}\n`);
    process.exit(2);
  });
}
