/**
 * A staging folder per target: the bundled dist/ (no maps), media/, schemas/, the YARA rule pack, the CLI launcher, the marketplace
 * files, a trimmed package.json (no scripts, no devDependencies) and exactly the runtime node_modules that target
 * needs, with other platforms' binaries and everything a user never runs left out (targets.ts). vsce then packs
 * that folder as it is.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { dependencyClosure } from '../../src/core/deploy/runtime-files';
import { exclusionOf, isForeignOrtBinary, PLATFORM_PACKAGE, RUNTIME_ROOTS, YARA_ROOT, type Target } from './targets';

/** Top-level files and folders of the repository that the VSIX carries (besides package.json and node_modules). */
export const SHIPPED = ['dist', 'media', 'schemas', 'rules', 'bin/sovereign.js', 'README.md', 'CHANGELOG.md', 'LICENSE'] as const;

export interface StageResult {
  dir: string;
  files: number;
  bytes: number;
  packages: string[];
  /** Paths left out, counted by reason. */
  excluded: Record<string, number>;
}

interface PackageJson {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
  overrides?: unknown;
  allowScripts?: unknown;
  [key: string]: unknown;
}

type Log = (line: string) => void;

/**
 * Where a target's platform package comes from: this checkout's node_modules when it is installed here (the
 * developer's own platform), else a tarball fetched once with `npm pack` into `.cache/package/npm/` (build time
 * only: the VSIX never downloads anything at run time).
 */
export async function platformPackageDir(repoRoot: string, name: string, version: string, cacheDir: string, log: Log, offline = false): Promise<string> {
  const installed = join(repoRoot, 'node_modules', name);
  if (existsSync(join(installed, 'package.json'))) {
    const pkg = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as PackageJson;
    if (pkg.version === version) return installed;
  }
  const unpacked = join(cacheDir, 'npm', `${name.replace('/', '+')}-${version}`, 'package');
  if (existsSync(join(unpacked, 'package.json'))) return unpacked;
  if (offline) throw new Error(`${name}@${version} is not in ${join(cacheDir, 'npm')}: run \`npm run package:fetch\` once (it needs the npm registry)`);
  const tarballs = join(cacheDir, 'npm', 'tarballs');
  await mkdir(tarballs, { recursive: true });
  log(`fetching ${name}@${version} (npm pack, build time only)`);
  const pack = spawnSync('npm', ['pack', `${name}@${version}`, '--pack-destination', tarballs, '--json', '--ignore-scripts'], { encoding: 'utf8' });
  if (pack.status !== 0) throw new Error(`npm pack ${name}@${version} failed (is the npm registry reachable?):\n${pack.stderr}`);
  const [{ filename }] = JSON.parse(pack.stdout) as Array<{ filename: string }>;
  await mkdir(dirname(unpacked), { recursive: true });
  const untar = spawnSync('tar', ['-xzf', join(tarballs, filename), '-C', dirname(unpacked)], { encoding: 'utf8' });
  if (untar.status !== 0) throw new Error(`cannot unpack ${filename}: ${untar.stderr}`);
  return unpacked;
}

/** The binary packages of `targets` that are not installed here, fetched into the cache (build time). */
export async function fetchPlatformPackages(repoRoot: string, targets: readonly Target[], cacheDir: string, log: Log): Promise<string[]> {
  const manifest = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as PackageJson;
  const dirs: string[] = [];
  for (const t of targets) {
    for (const [name, v] of platformPackagesOf(manifest, t)) dirs.push(await platformPackageDir(repoRoot, name, v, cacheDir, log));
  }
  return dirs;
}

function dependencyVersion(manifest: PackageJson, name: string): string {
  const v = manifest.dependencies?.[name] ?? manifest.optionalDependencies?.[name];
  if (!v) throw new Error(`${name} is not a dependency in package.json`);
  return v;
}

function withYara(manifest: PackageJson, t: Target): boolean {
  return t.yaraPackage !== undefined && (manifest.dependencies?.[YARA_ROOT] ?? manifest.optionalDependencies?.[YARA_ROOT]) !== undefined;
}

/** The target's binary packages and their versions (node-llama-cpp's and yara-x's own versions: they pin them exactly). */
function platformPackagesOf(manifest: PackageJson, t: Target): Array<[string, string]> {
  const list: Array<[string, string]> = [[t.llamaPackage, dependencyVersion(manifest, 'node-llama-cpp')]];
  if (withYara(manifest, t) && t.yaraPackage) list.push([t.yaraPackage, dependencyVersion(manifest, YARA_ROOT)]);
  return list;
}

export async function stageTarget(repoRoot: string, target: Target, stagingRoot: string, cacheDir: string, log: Log, offline = false): Promise<StageResult> {
  const dir = join(stagingRoot, target.name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const result: StageResult = { dir, files: 0, bytes: 0, packages: [], excluded: {} };
  const skip = (why: string): void => void (result.excluded[why] = (result.excluded[why] ?? 0) + 1);

  const copyTree = async (from: string, rel: string): Promise<void> => {
    const why = exclusionOf(rel) ?? (isForeignOrtBinary(rel, target.ortDir) ? "another platform's ONNX Runtime binary" : undefined);
    if (why) return skip(why);
    const st = await stat(from);
    if (st.isDirectory()) {
      for (const name of (await readdir(from)).sort()) await copyTree(join(from, name), `${rel}/${name}`);
    } else if (st.isFile()) {
      const to = join(dir, ...rel.split('/'));
      await mkdir(dirname(to), { recursive: true });
      await copyFile(from, to);
      await chmod(to, st.mode & 0o777);
      result.files++;
      result.bytes += st.size;
    }
  };

  for (const entry of SHIPPED) {
    const from = join(repoRoot, entry);
    if (!existsSync(from)) throw new Error(`${entry} is missing in ${repoRoot}${entry === 'dist' ? ': run `npm run build` first' : ''}`);
    await copyTree(from, entry);
  }

  const manifest = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as PackageJson;
  const version = (name: string): string => dependencyVersion(manifest, name);
  const roots: string[] = [...RUNTIME_ROOTS];
  if (withYara(manifest, target)) roots.push(YARA_ROOT);

  // The production closure of the runtime roots as installed here, minus every platform-binary package: the
  // target's own are added below from wherever they come from.
  const closure = (await dependencyClosure(repoRoot, roots)).filter((abs) => !PLATFORM_PACKAGE.test(packageName(repoRoot, abs)));
  for (const abs of closure) {
    const rel = toRel(repoRoot, abs);
    result.packages.push(packageName(repoRoot, abs));
    await copyTree(abs, rel);
  }
  const platformPackages = platformPackagesOf(manifest, target);
  for (const [name, v] of platformPackages) {
    const from = await platformPackageDir(repoRoot, name, v, cacheDir, log, offline);
    result.packages.push(name);
    await copyTree(from, `node_modules/${name}`);
  }

  // The trimmed manifest: what VS Code reads, the runtime dependencies vsce lists with `npm ls`, nothing for
  // developers (scripts, devDependencies, overrides).
  const trimmed: PackageJson = { ...manifest };
  delete trimmed.scripts;
  delete trimmed.devDependencies;
  delete trimmed.optionalDependencies;
  delete trimmed.overrides;
  delete trimmed.allowScripts;
  delete trimmed.private;
  trimmed.dependencies = Object.fromEntries([...roots.map((r) => [r, version(r)]), ...platformPackages].sort(([a], [b]) => (a < b ? -1 : 1)));
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(trimmed, null, 2)}\n`);
  // vsce's own ignore list on top of the staging: the staged folder already is the product.
  await writeFile(join(dir, '.vscodeignore'), '.vscodeignore\n');
  result.packages.sort();
  return result;
}

function toRel(root: string, abs: string): string {
  return relative(root, abs).split(sep).join('/');
}

/** `@scope/name` or `name` of a package folder (the last node_modules segment of its path). */
function packageName(root: string, abs: string): string {
  const rel = toRel(root, abs);
  const after = rel.slice(rel.lastIndexOf('node_modules/') + 'node_modules/'.length);
  const parts = after.split('/');
  return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}
