/**
 * `sovereign engine build` / "Sovereign: Build llama.cpp for This Machine": compiles llama.cpp's own
 * `llama-server` from the source node-llama-cpp ships (its git bundle), offline, for this machine (GGML_NATIVE,
 * and CUDA or Vulkan when their toolchains and a GPU are here), into the layout of builds.ts.
 *
 * Steps, each a child process (nothing blocks the caller's thread): `git clone` of the bundle and checkout of its
 * commit, `cmake` configure, `cmake --build --target llama-server` (progress from its `[ NN%]` lines), then the
 * binary must answer `--version`; its sha256 goes into build.json, and the finished folder is renamed into place
 * whole. A finished build is returned as it is (verified by readNativeBuild), never rebuilt unless `force`.
 *
 * One build at a time per builds dir (`.build.lock`, holding the builder's pid; the lock of a process that has
 * ended is taken over). Work happens in `<builds dir>/.work-<name>`, removed on success, failure and cancel.
 * Cancel (AbortSignal): every step runs in its own process group (detached), the whole group is killed
 * (make's compiler children included), the work folder removed, and BuildCancelledError thrown.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { chmod, copyFile, mkdir, open, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { availableParallelism, hostname } from 'node:os';
import { basename, join } from 'node:path';
import { sha256File } from '../../hash/sha256';
import { SovereignError } from '../../util/errors';
import { detectGpu, findOnPath, type GpuProbeOptions } from '../gpu';
import {
  buildDirFor,
  bundleCommit,
  bundlePath,
  defaultBuildsDir,
  findNativeBuild,
  NATIVE_BUILD_SCHEMA,
  readNativeBuild,
  type NativeBackend,
  type NativeBuild,
  type NativeBuildRecord,
} from './builds';

export type BuildBackendChoice = 'auto' | NativeBackend;
export type BuildPhase = 'clone' | 'configure' | 'compile' | 'install';

export interface BuildProgress {
  phase: BuildPhase;
  /** 0-100, in the compile phase (cmake's own `[ NN%]`). */
  percent?: number;
  /** One line of the step's output. */
  line?: string;
}

export interface BuildOptions {
  /** Default defaultBuildsDir(). */
  buildsDir?: string;
  /** Default 'auto': CUDA when nvcc and an NVIDIA GPU are here, else Vulkan when glslc, its headers and a GPU are, else CPU. */
  backend?: BuildBackendChoice;
  /** Parallel compile jobs; default the number of CPUs. */
  jobs?: number;
  /** Rebuild even when a finished build exists (it is replaced only when the new one is finished). */
  force?: boolean;
  signal?: AbortSignal;
  onProgress?(p: BuildProgress): void;
  /** The llama.cpp git bundle (default bundlePath(): node-llama-cpp's). */
  bundle?: string;
  /** Environment of the tools (PATH decides which git, cmake, compiler); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** How the GPU is probed for backend 'auto' (tests). */
  gpuProbe?: GpuProbeOptions;
}

/** The build was cancelled: its processes were killed and nothing of it was kept. */
export class BuildCancelledError extends SovereignError {
  constructor(readonly workDir: string) {
    super(`the llama.cpp build was cancelled: its processes were stopped and its work folder ${workDir} removed; nothing was installed`, 'run `sovereign engine build` (or "Sovereign: Build llama.cpp for This Machine") again to build', 2);
  }
}

/** The cmake options every build uses (as scripts/llama-server/build.sh always did), plus the backend's. */
export function cmakeFlagsFor(backend: NativeBackend): string[] {
  const flags = [
    '-DCMAKE_BUILD_TYPE=Release',
    '-DGGML_NATIVE=ON',
    '-DLLAMA_CURL=OFF',
    '-DLLAMA_BUILD_TESTS=OFF',
    '-DLLAMA_BUILD_EXAMPLES=OFF',
    '-DLLAMA_BUILD_TOOLS=ON',
    '-DLLAMA_BUILD_SERVER=ON',
    '-DBUILD_SHARED_LIBS=OFF',
  ];
  if (backend === 'cuda') flags.push('-DGGML_CUDA=ON');
  if (backend === 'vulkan') flags.push('-DGGML_VULKAN=ON');
  return flags;
}

/** cmake's (make's) progress prefix `[ 42%]`, as a number; undefined for other lines. */
export function parseCmakeProgress(line: string): number | undefined {
  const m = /^\s*\[\s*(\d{1,3})%\]/.exec(line);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n <= 100 ? n : undefined;
}

const VULKAN_HEADER_DIRS = ['/usr/include', '/usr/local/include'];

/** Which backend `auto` builds here, and why. */
export async function detectBuildBackend(env: NodeJS.ProcessEnv = process.env, probe: GpuProbeOptions = {}): Promise<{ backend: NativeBackend; reason: string }> {
  const pathEnv = env.PATH;
  const gpu = await detectGpu({ pathEnv, ...probe });
  const nvcc = await findOnPath('nvcc', pathEnv);
  if (nvcc && gpu.nvidia.found) return { backend: 'cuda', reason: `nvcc (${nvcc}) and an NVIDIA GPU (${gpu.nvidia.evidence.join(', ')})` };
  const glslc = await findOnPath('glslc', pathEnv);
  const headers = [...(env.VULKAN_SDK ? [join(env.VULKAN_SDK, 'include')] : []), ...VULKAN_HEADER_DIRS].find((d) => existsSync(join(d, 'vulkan', 'vulkan.h')));
  if (glslc && headers && gpu.vulkan.found) return { backend: 'vulkan', reason: `glslc (${glslc}), Vulkan headers (${headers}) and a Vulkan device` };
  const why = nvcc ? `nvcc is here (${nvcc}) but no NVIDIA GPU` : glslc ? 'glslc is here but not the Vulkan headers or a Vulkan device' : 'no GPU toolchain (nvcc, glslc) found';
  return { backend: 'cpu', reason: `${why}: CPU build` };
}

/** The builds dir's lock: the pid of the process building there. */
async function acquireLock(buildsDir: string): Promise<() => Promise<void>> {
  const lock = join(buildsDir, '.build.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(lock, 'wx');
      await handle.writeFile(JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }));
      await handle.close();
      return () => unlink(lock).catch(() => undefined);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new SovereignError(`cannot create the build lock ${lock} (${(err as Error).message})`, `check that ${buildsDir} is writable, or choose another builds dir (--dir)`);
    }
    let holder: { pid?: number; host?: string; startedAt?: string } = {};
    try {
      holder = JSON.parse(await readFile(lock, 'utf8')) as typeof holder;
    } catch {
      // unreadable or half-written: treated as stale below
    }
    if (holder.host && holder.host !== hostname()) {
      throw new SovereignError(`the builds dir ${buildsDir} is locked by a build on another machine (${holder.host}, pid ${holder.pid ?? '?'})`, `wait for it, or remove ${lock} if no build runs there`);
    }
    if (typeof holder.pid === 'number' && holder.pid > 0 && alive(holder.pid)) {
      throw new SovereignError(
        `another llama.cpp build (pid ${holder.pid}, started ${holder.startedAt ?? 'at an unknown time'}) is running in ${buildsDir}`,
        'wait for it to finish (or cancel it), then run the build again: it will find the finished build',
      );
    }
    // The process that held it has ended: take the lock over.
    await unlink(lock).catch(() => undefined);
  }
  throw new SovereignError(`cannot take the build lock ${lock}`, `remove ${lock} if no build is running`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

class StepFailed extends Error {
  constructor(readonly step: string, readonly code: number | null, readonly tail: string[]) {
    super(`${step} failed (exit ${code})`);
  }
}
class Cancelled extends Error {}

/**
 * Runs one tool in its own process group, line by line to `onLine` and to `log`. On abort, the whole group gets
 * SIGTERM, then SIGKILL, and the promise settles only when no process of the group is left.
 */
function runStep(step: string, file: string, args: string[], options: { cwd?: string; env: NodeJS.ProcessEnv; signal?: AbortSignal; log?: WriteStream; onLine?(line: string): void }): Promise<void> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(new Cancelled());
    const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, windowsHide: true });
    const tail: string[] = [];
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      if (aborted || child.pid === undefined) return;
      aborted = true;
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => child.pid !== undefined && killGroup(child.pid, 'SIGKILL'), 3000);
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    for (const stream of [child.stdout, child.stderr]) {
      let pending = '';
      stream.on('data', (chunk: Buffer) => {
        options.log?.write(chunk);
        pending += chunk.toString('utf8');
        const lines = pending.split(/\r?\n|\r/);
        pending = lines.pop() ?? '';
        for (const line of lines) {
          tail.push(line);
          if (tail.length > 40) tail.shift();
          try {
            options.onLine?.(line);
          } catch {
            // a listener's error must not end the process this runs in (the extension host)
          }
        }
      });
    }
    child.on('error', (err) => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(new SovereignError(`cannot run ${file} (${err.message})`, `install ${basename(file)} (Debian: apt-get install -y cmake build-essential git)`));
    });
    child.on('exit', (code) => {
      options.signal?.removeEventListener('abort', onAbort);
      const pgid = child.pid!;
      // The leader is gone; whatever it started in its group goes too, and only then do we settle.
      const settle = async (): Promise<void> => {
        if (aborted || code !== 0) killGroup(pgid, 'SIGKILL');
        for (let i = 0; i < 100 && groupAlive(pgid); i++) await new Promise((r) => setTimeout(r, 50));
        if (killTimer) clearTimeout(killTimer);
        if (aborted) reject(new Cancelled());
        else if (code !== 0) reject(new StepFailed(step, code, tail));
        else resolve();
      };
      void settle();
    });
  });
}

async function toolOrThrow(name: string, env: NodeJS.ProcessEnv, hint: string): Promise<string> {
  const found = await findOnPath(name, env.PATH);
  if (!found) throw new SovereignError(`building llama.cpp needs ${name}, which is not on PATH`, hint);
  return found;
}

/** First line of a tool's `--version`, or undefined. */
async function versionLine(file: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<string | undefined> {
  let first: string | undefined;
  await runStep('version', file, ['--version'], { env, signal, onLine: (l) => (first ??= l.trim() || undefined) }).catch((err: unknown) => {
    if (err instanceof Cancelled) throw err;
  });
  return first;
}

/**
 * Builds llama-server for this machine (or returns the finished build of the bundled commit and backend).
 * Throws SovereignError with a hint when a tool or the bundle is missing or a step fails, RefusedError when an
 * existing build's binary no longer has its recorded digest (rebuild with `force`), BuildCancelledError on abort.
 */
export async function buildLlamaServer(options: BuildOptions = {}): Promise<NativeBuild> {
  const env = options.env ?? process.env;
  if (process.platform === 'win32') {
    throw new SovereignError('building llama.cpp for this machine is supported on Linux and macOS', 'on Windows the GGUF engine uses node-llama-cpp\'s prebuilt binaries (the default; GPU builds: "Sovereign: Set Up GPU Acceleration")');
  }
  const buildsDir = options.buildsDir ?? defaultBuildsDir(env);
  const bundle = options.bundle ?? bundlePath();
  const commit = await bundleCommit(bundle);
  const choice = options.backend ?? 'auto';
  const backend = choice === 'auto' ? (await detectBuildBackend(env, options.gpuProbe)).backend : choice;
  const dest = buildDirFor(buildsDir, commit, backend);

  if (!options.force) {
    const done = await readNativeBuild(dest);
    if (done) return done;
  }

  const git = await toolOrThrow('git', env, 'install git (Debian: apt-get install -y git)');
  const cmake = await toolOrThrow('cmake', env, 'install cmake 3.14 or later (Debian: apt-get install -y cmake)');
  const cxx = env.CXX || (await toolOrThrow('c++', env, 'install a C++ compiler (Debian: apt-get install -y build-essential; macOS: xcode-select --install)'));
  await toolOrThrow('make', env, 'install make (Debian: apt-get install -y build-essential; macOS: xcode-select --install)');
  if (backend === 'cuda') await toolOrThrow('nvcc', env, 'install the CUDA toolkit (nvcc) and put its bin folder on PATH, or build with --backend cpu');
  if (backend === 'vulkan') await toolOrThrow('glslc', env, 'install the Vulkan SDK (glslc and the headers; Debian: apt-get install -y glslc libvulkan-dev), or build with --backend cpu');

  await mkdir(buildsDir, { recursive: true });
  const release = await acquireLock(buildsDir);
  const work = join(buildsDir, `.work-${basename(dest)}`);
  const logs: WriteStream[] = [];
  try {
    // Another build may have finished while we waited for nothing (the lock was free): look again.
    if (!options.force) {
      const done = await readNativeBuild(dest);
      if (done) return done;
    }
    const started = Date.now();
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    const log = (name: string): WriteStream => {
      const s = createWriteStream(join(work, `${name}.log`));
      logs.push(s);
      return s;
    };
    const progress = options.onProgress ?? (() => undefined);
    const signal = options.signal;
    const stepEnv = { ...env, GIT_TERMINAL_PROMPT: '0' };

    progress({ phase: 'clone', line: `cloning ${bundle} (${commit})` });
    await runStep('git clone of the llama.cpp bundle', git, ['clone', '--quiet', '--no-checkout', bundle, join(work, 'src')], { env: stepEnv, signal, log: log('clone'), onLine: (line) => progress({ phase: 'clone', line }) });
    await runStep('git checkout', git, ['-C', join(work, 'src'), '-c', 'advice.detachedHead=false', 'checkout', '--quiet', commit], { env: stepEnv, signal, log: log('checkout'), onLine: (line) => progress({ phase: 'clone', line }) });

    // cmake finds the compilers itself (CC, CXX, PATH), as a person running it would.
    const flags = cmakeFlagsFor(backend);
    progress({ phase: 'configure', line: `cmake ${flags.join(' ')}` });
    await runStep('cmake configure', cmake, ['-S', join(work, 'src'), '-B', join(work, 'build'), ...flags], { env: stepEnv, signal, log: log('configure'), onLine: (line) => progress({ phase: 'configure', line }) });

    const jobs = options.jobs ?? availableParallelism();
    progress({ phase: 'compile', percent: 0, line: `compiling llama-server with ${jobs} jobs` });
    await runStep('cmake --build (compile)', cmake, ['--build', join(work, 'build'), '--target', 'llama-server', '-j', String(jobs)], {
      env: stepEnv,
      signal,
      log: log('compile'),
      onLine: (line) => progress({ phase: 'compile', percent: parseCmakeProgress(line), line }),
    });

    progress({ phase: 'install', line: 'checking the binary and recording its sha256' });
    const built = join(work, 'build', 'bin', 'llama-server');
    if (!existsSync(built)) throw new SovereignError(`the build finished without ${built}`, 'the llama.cpp source may not have a llama-server target at this commit; report it with `sovereign engine status --json`');
    const out = join(work, 'out');
    await mkdir(join(out, 'bin'), { recursive: true });
    const binary = join(out, 'bin', 'llama-server');
    await copyFile(built, binary);
    await chmod(binary, 0o755);
    let version: string | undefined;
    await runStep('llama-server --version', binary, ['--version'], { env: stepEnv, signal, onLine: (l) => (version ??= /version/i.test(l) ? l.trim() : undefined) });
    const record: NativeBuildRecord = {
      schema: NATIVE_BUILD_SCHEMA,
      commit,
      backend,
      binary: 'bin/llama-server',
      sha256: await sha256File(binary),
      cmakeFlags: cmakeFlagsFor(backend),
      builtAt: new Date().toISOString(),
      durationMs: Date.now() - started,
      compiler: await versionLine(cxx, env, signal),
    };
    await writeFile(join(out, 'build.json'), JSON.stringify(record, null, 2) + '\n');
    if (signal?.aborted) throw new Cancelled();
    progress({ phase: 'install', percent: 100, line: version ?? `installed into ${dest}` });

    // Whole folder into place: a reader sees the old build or the new one, never half of one.
    const old = join(buildsDir, `.old-${basename(dest)}-${process.pid}`);
    const hadOld = existsSync(dest);
    if (hadOld) await rename(dest, old);
    await rename(out, dest);
    if (hadOld) await rm(old, { recursive: true, force: true });
    const verified = await readNativeBuild(dest);
    if (!verified) throw new SovereignError(`the build in ${dest} has no build.json after installing it`, `remove ${dest} and build again`);
    return verified;
  } catch (err) {
    if (err instanceof Cancelled || options.signal?.aborted) throw new BuildCancelledError(work);
    if (err instanceof StepFailed) {
      throw new SovereignError(
        `building llama.cpp failed in ${err.step} (exit ${err.code}):\n${err.tail.slice(-15).map((l) => `    ${l}`).join('\n')}`,
        err.step.startsWith('cmake configure')
          ? `check the compiler and cmake (cmake 3.14+, a C++17 compiler)${backend !== 'cpu' ? `, or build with --backend cpu (the ${backend} toolchain may be incomplete)` : ''}`
          : 'see the lines above; to build without a GPU backend use --backend cpu',
      );
    }
    throw err;
  } finally {
    await Promise.all(logs.map((s) => new Promise((r) => s.end(r))));
    await rm(work, { recursive: true, force: true });
    await release();
  }
}

/** One folder of the builds dir, as `engine status` reports it. */
export type NativeBuildEntry =
  | { name: string; dir: string; ok: true; commit: string; backend: NativeBackend; binaryPath: string; sha256: string; builtAt: string; bundled: boolean }
  | { name: string; dir: string; ok: false; error: string; hint?: string };

export const ENGINE_STATUS_SCHEMA = 'sovereign.engine-status/v1';

/** What `sovereign engine status` reports: the bundled source, the builds (verified), and what the GGUF engine would use. */
export interface EngineStatus {
  schema: typeof ENGINE_STATUS_SCHEMA;
  bundle: { path: string; commit?: string; error?: string };
  buildsDir: string;
  /** What `engine build --backend auto` would build here, and why. */
  autoBackend: { backend: NativeBackend; reason: string };
  builds: NativeBuildEntry[];
  /**
   * The llama.cpp the GGUF engine would use: the verified native build of the bundled commit (GPU first), else
   * node-llama-cpp's prebuilt binaries; `refused` when that native build fails its digest check.
   */
  gguf: { llamaCpp: 'native'; binaryPath: string; backend: NativeBackend } | { llamaCpp: 'prebuilt'; reason: string } | { llamaCpp: 'refused'; error: string; hint?: string };
}

/** Every build folder in the builds dir, each verified (a changed binary is reported, not hidden). */
export async function listNativeBuilds(buildsDir: string, bundledCommit?: string): Promise<NativeBuildEntry[]> {
  let names: string[];
  try {
    names = (await readdir(buildsDir, { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name).sort();
  } catch {
    return [];
  }
  const entries: NativeBuildEntry[] = [];
  for (const name of names) {
    const dir = join(buildsDir, name);
    try {
      const build = await readNativeBuild(dir);
      if (!build) {
        entries.push({ name, dir, ok: false, error: `${dir} holds no build.json (not a finished build)`, hint: `remove ${dir}` });
        continue;
      }
      const r = build.record;
      entries.push({ name, dir, ok: true, commit: r.commit, backend: r.backend, binaryPath: build.binaryPath, sha256: r.sha256, builtAt: r.builtAt, bundled: r.commit === bundledCommit });
    } catch (err) {
      entries.push({ name, dir, ok: false, error: (err as Error).message, hint: err instanceof SovereignError ? err.hint : undefined });
    }
  }
  return entries;
}

export async function engineStatus(options: { buildsDir?: string; bundle?: string; env?: NodeJS.ProcessEnv; gpuProbe?: GpuProbeOptions } = {}): Promise<EngineStatus> {
  const env = options.env ?? process.env;
  const buildsDir = options.buildsDir ?? defaultBuildsDir(env);
  let path: string | undefined;
  let commit: string | undefined;
  let bundleError: string | undefined;
  try {
    path = options.bundle ?? bundlePath();
    commit = await bundleCommit(path);
  } catch (err) {
    path ??= options.bundle ?? '(node-llama-cpp is not installed)';
    bundleError = err instanceof SovereignError ? err.describe() : (err as Error).message;
  }
  const builds = await listNativeBuilds(buildsDir, commit);
  let gguf: EngineStatus['gguf'];
  if (!commit) {
    gguf = { llamaCpp: 'prebuilt', reason: 'the llama.cpp source bundle cannot be read, so no native build can match it' };
  } else {
    try {
      const found = await findNativeBuild({ buildsDir, commit });
      gguf = found ? { llamaCpp: 'native', binaryPath: found.binaryPath, backend: found.record.backend } : { llamaCpp: 'prebuilt', reason: `no native build of ${commit} in ${buildsDir} (run \`sovereign engine build\`)` };
    } catch (err) {
      gguf = { llamaCpp: 'refused', error: (err as Error).message, hint: err instanceof SovereignError ? err.hint : undefined };
    }
  }
  return { schema: ENGINE_STATUS_SCHEMA, bundle: { path, commit, error: bundleError }, buildsDir, autoBackend: await detectBuildBackend(env, options.gpuProbe), builds, gguf };
}
