/**
 * Native builds of llama.cpp for this machine: llama.cpp's own `llama-server`, compiled offline from the
 * source node-llama-cpp ships (`node-llama-cpp/llama/gitRelease.bundle`) by `sovereign engine build`
 * (build.ts). The GGUF engine prefers such a build when one exists for the bundled commit (docs/engines.md).
 *
 * Layout (one folder per commit and backend, written whole by an atomic rename):
 *   <builds dir>/<commit>[-cuda|-vulkan]/bin/llama-server
 *   <builds dir>/<commit>[-cuda|-vulkan]/build.json      (NativeBuildRecord: the binary's sha256)
 * The builds dir: $SOVEREIGN_LLAMA_CPP_BUILDS, else $XDG_CACHE_HOME/sovereign/llama.cpp, else
 * ~/.cache/sovereign/llama.cpp.
 *
 * A build is used only when its binary still has the sha256 its record names: a binary changed after the
 * build is refused (RefusedError), never run.
 */
import { existsSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sha256File } from '../../hash/sha256';
import { RefusedError, SovereignError } from '../../util/errors';
import { userCacheDir } from '../../util/user-cache';

export type NativeBackend = 'cpu' | 'cuda' | 'vulkan';

export const NATIVE_BUILD_SCHEMA = 'sovereign.llama-cpp-build/v1';

/** build.json: what was built, how, and the digest the binary must keep. */
export interface NativeBuildRecord {
  schema: typeof NATIVE_BUILD_SCHEMA;
  /** The llama.cpp commit (the bundle's HEAD). */
  commit: string;
  backend: NativeBackend;
  /** Relative to the build folder. */
  binary: 'bin/llama-server';
  sha256: string;
  cmakeFlags: string[];
  builtAt: string;
  durationMs: number;
  /** `c++ --version`'s first line. */
  compiler?: string;
}

/** A build found and verified: its binary has the recorded digest. */
export interface NativeBuild {
  dir: string;
  binaryPath: string;
  record: NativeBuildRecord;
}

/** Where native builds live. */
export function defaultBuildsDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SOVEREIGN_LLAMA_CPP_BUILDS) return env.SOVEREIGN_LLAMA_CPP_BUILDS;
  return join(userCacheDir(env), 'llama.cpp');
}

/** The folder of one build. */
export function buildDirFor(buildsDir: string, commit: string, backend: NativeBackend): string {
  return join(buildsDir, backend === 'cpu' ? commit : `${commit}-${backend}`);
}

/** node-llama-cpp's llama.cpp source bundle (absent from the VSIX unless packaged with it). */
export function bundlePath(): string {
  // The package's entry is dist/index.js; the bundle is beside dist/.
  return join(dirname(require.resolve('node-llama-cpp')), '..', 'llama', 'gitRelease.bundle');
}

/**
 * The commit a git bundle's HEAD names, read from the bundle's header (`# v2 git bundle`, then
 * `<sha> <ref>` lines, then an empty line): no git needed.
 */
export async function bundleCommit(path = bundlePath()): Promise<string> {
  let header: string;
  try {
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(64 * 1024);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      header = buffer.subarray(0, bytesRead).toString('latin1');
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new SovereignError(
      `the llama.cpp source bundle ${path} cannot be read (${(err as Error).message})`,
      'reinstall node-llama-cpp (npm ci), or install a VSIX that ships the bundle',
    );
  }
  const lines = header.split('\n');
  if (!/^# v[23] git bundle$/.test(lines[0] ?? '')) throw new SovereignError(`${path} is not a git bundle`, 'reinstall node-llama-cpp (npm ci)');
  const refs = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (line === '') break;
    const m = /^([0-9a-f]{40}) (\S+)$/.exec(line);
    if (m) refs.set(m[2], m[1]);
  }
  const commit = refs.get('HEAD') ?? [...refs.values()][0];
  if (!commit) throw new SovereignError(`${path} names no commit`, 'reinstall node-llama-cpp (npm ci)');
  return commit;
}

/** Reads and checks one build folder's record and binary; undefined when the folder holds no finished build. */
export async function readNativeBuild(dir: string): Promise<NativeBuild | undefined> {
  const recordPath = join(dir, 'build.json');
  if (!existsSync(recordPath)) return undefined;
  let record: NativeBuildRecord;
  try {
    record = JSON.parse(await readFile(recordPath, 'utf8')) as NativeBuildRecord;
  } catch (err) {
    throw new RefusedError(`the native llama.cpp build record ${recordPath} is not valid JSON (${(err as Error).message})`, `remove ${dir} and run \`sovereign engine build\` again`);
  }
  if (record.schema !== NATIVE_BUILD_SCHEMA || record.binary !== 'bin/llama-server' || !/^[0-9a-f]{64}$/.test(record.sha256 ?? '')) {
    throw new RefusedError(`the native llama.cpp build record ${recordPath} is not a ${NATIVE_BUILD_SCHEMA} record`, `remove ${dir} and run \`sovereign engine build\` again`);
  }
  const binaryPath = join(dir, record.binary);
  if (!existsSync(binaryPath)) throw new RefusedError(`the native llama.cpp build in ${dir} has no ${record.binary}`, `remove ${dir} and run \`sovereign engine build\` again`);
  const actual = await sha256File(binaryPath);
  if (actual !== record.sha256) {
    throw new RefusedError(
      `refused the native llama.cpp build ${binaryPath}: its sha256 is ${actual}, not the ${record.sha256} recorded when it was built; it was changed after the build and is not run`,
      `remove ${dir} and run \`sovereign engine build\` again (or use --llama-cpp prebuilt)`,
    );
  }
  return { dir, binaryPath, record };
}

/**
 * The build the engine should use for `commit` (the bundled one by default): a GPU backend's build when
 * `gpu` is allowed and one exists, else the CPU build; undefined when none was built.
 */
export async function findNativeBuild(options: { buildsDir?: string; commit?: string; gpu?: boolean } = {}): Promise<NativeBuild | undefined> {
  const buildsDir = options.buildsDir ?? defaultBuildsDir();
  const commit = options.commit ?? (await bundleCommit());
  const order: NativeBackend[] = options.gpu === false ? ['cpu'] : ['cuda', 'vulkan', 'cpu'];
  for (const backend of order) {
    const build = await readNativeBuild(buildDirFor(buildsDir, commit, backend));
    if (build) {
      if (build.record.commit !== commit) {
        throw new RefusedError(`the native llama.cpp build in ${build.dir} records commit ${build.record.commit}, not ${commit}`, `remove ${build.dir} and run \`sovereign engine build\` again`);
      }
      return build;
    }
  }
  return undefined;
}
