/**
 * `npm run package [-- --target linux-x64 ...] [--out DIR] [--skip-build] [--offline]`: one VSIX per target
 * (`vsce package --target ...`), each from its own staging folder (stage.ts) with only that platform's native
 * binaries. Writes `sovereign-workbench-<target>-<version>.vsix` into `dist-vsix/` (or --out) and prints one
 * line per VSIX (size, file count) on stdout; progress goes to stderr. Other platforms' binary packages are
 * fetched once with `npm pack` into `.cache/package/npm/` (build time only); `--fetch-only` just does that
 * (`npm run package:fetch`, run by CI before the tests, which package offline).
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { productRoot } from '../../src/core/deploy/product-root';
import { inspectVsix, type VsixReport } from './inspect';
import { fetchPlatformPackages, stageTarget } from './stage';
import { target, TARGETS, type Target } from './targets';

/** The repository (from scripts/package or, compiled, from out/scripts/package). */
export const REPO_ROOT = productRoot(__dirname);
export const PACKAGE_CACHE = join(REPO_ROOT, '.cache', 'package');
export const DEFAULT_OUT = join(REPO_ROOT, 'dist-vsix');

const log = (line: string): void => void process.stderr.write(`package: ${line}\n`);

export interface PackageOptions {
  targets?: readonly Target[];
  out?: string;
  /** Use dist/ as it is (default: `node esbuild.mjs` first). */
  skipBuild?: boolean;
  /**
   * Never fetch: other platforms' packages must be in `.cache/package/npm/` already (`npm run package:fetch`).
   * The test suite packages offline (its no-egress guard refuses the registry).
   */
  offline?: boolean;
  log?: (line: string) => void;
}

export interface PackagedVsix {
  target: string;
  file: string;
  report: VsixReport;
  seconds: number;
}

/**
 * The one vsce warning a platform VSIX keeps: more than 100 JavaScript files. node-llama-cpp (ESM, ~280 files
 * that locate its native files relative to their own paths) and its dependencies, and dockerode's gRPC stack,
 * run from node_modules as published; bundling them is not safe. Any other warning fails the packaging.
 */
export const KNOWN_VSCE_WARNING = /This extension consists of \S*\d+\S* files, out of which \S*\d+\S* are JavaScript files/;

export function vsixName(t: Target, version: string): string {
  return `sovereign-workbench-${t.name}-${version}.vsix`;
}

/** The extension bundles (esbuild only: the VSIX needs dist/, not the type-checked out/). Not minified: error names and stack traces stay readable. */
export function buildBundles(root = REPO_ROOT, say = log): void {
  say('bundling (node esbuild.mjs)');
  const build = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (build.status !== 0) throw new Error('the esbuild bundle failed; fix the build first (npm run build)');
}

export async function packageTargets(options: PackageOptions = {}): Promise<PackagedVsix[]> {
  const say = options.log ?? log;
  const out = resolve(options.out ?? DEFAULT_OUT);
  const targets = options.targets ?? TARGETS;
  if (!options.skipBuild) buildBundles(REPO_ROOT, say);
  const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  await mkdir(out, { recursive: true });
  const staging = join(PACKAGE_CACHE, 'staging');
  const vsce = join(REPO_ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
  const results: PackagedVsix[] = [];
  for (const t of targets) {
    const started = Date.now();
    const staged = await stageTarget(REPO_ROOT, t, staging, PACKAGE_CACHE, say, options.offline ?? false);
    say(`${t.name}: staged ${staged.files} files (${(staged.bytes / 1024 / 1024).toFixed(1)} MB), ${staged.packages.length} runtime packages`);
    const file = join(out, vsixName(t, version));
    await rm(file, { force: true });
    const packed = spawnSync(process.execPath, [vsce, 'package', '--target', t.name, '--out', file], { cwd: staged.dir, encoding: 'utf8' });
    if (packed.status !== 0) throw new Error(`vsce package --target ${t.name} failed:\n${packed.stdout}\n${packed.stderr}`);
    const warnings = `${packed.stdout}\n${packed.stderr}`.split('\n').filter((l) => /WARNING/i.test(l) && !KNOWN_VSCE_WARNING.test(l));
    if (warnings.length) throw new Error(`vsce warned for ${t.name} (the package must be clean):\n${warnings.join('\n')}`);
    const report = await inspectVsix(file, t);
    results.push({ target: t.name, file, report, seconds: (Date.now() - started) / 1000 });
    await rm(staged.dir, { recursive: true, force: true });
  }
  return results;
}

export function summaryLine(p: PackagedVsix): string {
  const mb = p.report.bytes / 1024 / 1024;
  return `${p.target.padEnd(13)} ${mb.toFixed(1).padStart(6)} MB  ${String(p.report.files).padStart(5)} files  ${p.seconds.toFixed(1).padStart(5)} s  ${p.file}`;
}

function parseArgs(argv: string[]): PackageOptions & { fetchOnly?: boolean } {
  const options: PackageOptions & { fetchOnly?: boolean } = {};
  const chosen: Target[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--target') chosen.push(target(argv[++i] ?? ''));
    else if (arg === '--out') options.out = argv[++i];
    else if (arg === '--skip-build') options.skipBuild = true;
    else if (arg === '--offline') options.offline = true;
    else if (arg === '--fetch-only') options.fetchOnly = true;
    else throw new Error(`unknown argument ${arg}; usage: npm run package -- [--target T]... [--out DIR] [--skip-build] [--offline] [--fetch-only]`);
  }
  if (chosen.length) options.targets = chosen;
  return options;
}

async function main(): Promise<void> {
  let options: PackageOptions & { fetchOnly?: boolean };
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`package: ${(error as Error).message}\n`);
    process.exit(2);
  }
  if (options.fetchOnly) {
    for (const dir of await fetchPlatformPackages(REPO_ROOT, options.targets ?? TARGETS, PACKAGE_CACHE, log)) process.stdout.write(`${dir}\n`);
    return;
  }
  const results = await packageTargets(options);
  let over = false;
  for (const p of results) {
    process.stdout.write(`${summaryLine(p)}\n`);
    for (const problem of p.report.problems) {
      over = true;
      process.stderr.write(`package: ${p.target}: ${problem}\n`);
    }
  }
  if (over) process.exit(1);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`package: ${(error as Error).message}\n`);
    process.exit(2);
  });
}
