import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { IoError } from '../util/errors';

/**
 * The files the staging container needs to run `sovereign serve`: the bundled CLI (dist/) plus the
 * packages esbuild leaves external and the runtime loads (native inference engines), with their own
 * production dependency closure. Everything else is bundled into dist/cli.js already.
 */
export const RUNTIME_PACKAGES = ['node-llama-cpp', '@node-llama-cpp/linux-x64', 'onnxruntime-node', 'xz-decompress', '@litko/yara-x', '@litko/yara-x-linux-x64-gnu'] as const;

/**
 * Folders of the repository the runtime reads besides dist/ and the packages: the default YARA rule pack,
 * which the load gate in the container runs (src/core/scan/rules.ts finds it beside dist/).
 */
export const RUNTIME_DATA_DIRS = ['rules/default'] as const;

/** dist/ entry points the container never runs (the VS Code extension). Source maps are left out too. */
const DIST_EXCLUDE = [/^extension\.js$/, /\.map$/, /\.vsix$/];

/**
 * Paths inside packages that are never loaded at run time and cost image size: onnxruntime-node ships
 * every OS and CPU (~290 MB), node-llama-cpp ships the llama.cpp source as a git bundle (for building
 * from source, ~35 MB).
 */
const PRUNE: RegExp[] = [
  /^node_modules\/onnxruntime-node\/bin\/napi-v\d+\/(darwin|win32)(\/|$)/,
  /^node_modules\/onnxruntime-node\/bin\/napi-v\d+\/linux\/(arm64|arm|ppc64|s390x)(\/|$)/,
  /^node_modules\/node-llama-cpp\/llama\/gitRelease\.bundle$/,
  /\/\.bin(\/|$)/,
  /(^|\/)\.cache(\/|$)/,
];

export interface RuntimeFile {
  /** Path relative to the repository root, forward slashes; the same path below /app in the image. */
  rel: string;
  abs: string;
  size: number;
  mode: number;
}

export interface RuntimeFileSet {
  files: RuntimeFile[];
  /** Directories (relative), parents first, so the tar carries them explicitly. */
  dirs: string[];
  packages: string[];
  bytes: number;
}

export async function collectRuntimeFiles(repoRoot: string): Promise<RuntimeFileSet> {
  const files: RuntimeFile[] = [];
  const dirs = new Set<string>();
  const distDir = join(repoRoot, 'dist');
  let distEntries: string[];
  try {
    distEntries = await readdir(distDir);
  } catch {
    throw new IoError(`the bundled CLI is missing (${distDir})`, 'run `npm run build` (or `node esbuild.mjs`) first');
  }
  if (!distEntries.includes('cli.js')) throw new IoError(`dist/cli.js is missing in ${repoRoot}`, 'run `npm run build` (or `node esbuild.mjs`) first');
  for (const name of distEntries.sort()) {
    if (DIST_EXCLUDE.some((r) => r.test(name))) continue;
    await walk(repoRoot, join(distDir, name), files, dirs);
  }
  for (const data of RUNTIME_DATA_DIRS) {
    try {
      await stat(join(repoRoot, data));
    } catch {
      throw new IoError(`${data}/ is missing in ${repoRoot}: the serving runtime's load gate needs it`, 'restore it from the repository (git checkout -- rules/)');
    }
    await walk(repoRoot, join(repoRoot, data), files, dirs);
  }
  const packages = await dependencyClosure(repoRoot, RUNTIME_PACKAGES);
  for (const pkgDir of packages) await walk(repoRoot, pkgDir, files, dirs);
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const dirList = [...dirs].sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1));
  return { files, dirs: dirList, packages: packages.map((p) => toRel(repoRoot, p)), bytes: files.reduce((n, f) => n + f.size, 0) };
}

/** Native libraries among the runtime files: their shared-library needs decide the base image's libs. */
export function nativeLibraries(set: RuntimeFileSet): RuntimeFile[] {
  return set.files.filter((f) => /\.(node|so)(\.\d+)*$/.test(f.rel));
}

function toRel(root: string, abs: string): string {
  return relative(root, abs).split(sep).join('/');
}

async function walk(root: string, abs: string, files: RuntimeFile[], dirs: Set<string>): Promise<void> {
  const rel = toRel(root, abs);
  if (PRUNE.some((r) => r.test(rel))) return;
  const st = await stat(abs);
  if (st.isDirectory()) {
    addParents(rel, dirs);
    dirs.add(rel);
    for (const name of (await readdir(abs)).sort()) await walk(root, join(abs, name), files, dirs);
  } else if (st.isFile()) {
    addParents(rel, dirs);
    files.push({ rel, abs, size: st.size, mode: st.mode & 0o777 });
  }
}

function addParents(rel: string, dirs: Set<string>): void {
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
}

/**
 * Package folders needed at run time: the roots and their `dependencies` (and the `optionalDependencies`
 * that are installed), resolved the way Node resolves them (nearest node_modules upwards). Nested
 * node_modules folders come along with their package folder.
 */
export async function dependencyClosure(repoRoot: string, roots: readonly string[]): Promise<string[]> {
  const seen = new Set<string>();
  const queue: Array<{ name: string; from: string; optional: boolean }> = roots.map((name) => ({ name, from: repoRoot, optional: false }));
  while (queue.length) {
    const { name, from, optional } = queue.shift()!;
    const dir = await resolvePackage(repoRoot, from, name);
    if (!dir) {
      if (optional) continue;
      throw new IoError(`the runtime package ${name} is not installed (needed from ${toRel(repoRoot, from) || '.'})`, 'run `npm ci` first');
    }
    if (seen.has(dir)) continue;
    seen.add(dir);
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const dep of Object.keys(pkg.dependencies ?? {})) queue.push({ name: dep, from: dir, optional: false });
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) queue.push({ name: dep, from: dir, optional: true });
  }
  // A package nested inside another one's node_modules travels with its parent folder.
  const all = [...seen].sort();
  return all.filter((d) => !all.some((p) => p !== d && d.startsWith(p + sep)));
}

async function resolvePackage(repoRoot: string, from: string, name: string): Promise<string | undefined> {
  let dir = from;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    try {
      if ((await stat(join(candidate, 'package.json'))).isFile()) return candidate;
    } catch {
      // not here: look one level up.
    }
    if (dir === repoRoot) return undefined;
    const up = join(dir, '..');
    if (!up.startsWith(repoRoot)) return undefined;
    dir = up;
  }
}
