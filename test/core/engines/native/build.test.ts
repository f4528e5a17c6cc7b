import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { appendFile, cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { BuildCancelledError, buildLlamaServer, cmakeFlagsFor, detectBuildBackend, engineStatus, parseCmakeProgress, type BuildProgress } from '../../../../src/core/engines/native/build';
import { buildDirFor, bundleCommit, findNativeBuild, readNativeBuild, type NativeBuildRecord } from '../../../../src/core/engines/native/builds';
import { sha256File } from '../../../../src/core/hash/sha256';
import { RefusedError, SovereignError } from '../../../../src/core/util/errors';
import { processesNaming, requireFinishedBuild, running, writeToyBundle } from './finished-build';
import { tempDir } from '../../../helpers/tmp';

describe('native llama.cpp build (sovereign engine build)', function () {
  this.timeout(240_000);
  let tmp: { path: string; cleanup: () => Promise<void> };
  let commit: string;
  before(async () => {
    tmp = await tempDir('sovereign-native-build-');
    commit = await bundleCommit();
  });
  after(() => tmp.cleanup());

  it('reads progress from cmake lines: the percent of `[ NN%]` lines, nothing from the others', () => {
    assert.equal(parseCmakeProgress('[  3%] Building C object ggml/src/CMakeFiles/ggml-base.dir/ggml.c.o'), 3);
    assert.equal(parseCmakeProgress('[ 42%] Built target ggml-cpu'), 42);
    assert.equal(parseCmakeProgress('[100%] Linking CXX executable ../../bin/llama-server'), 100);
    assert.equal(parseCmakeProgress('[100%] Built target llama-server'), 100);
    assert.equal(parseCmakeProgress('-- Configuring done (4.1s)'), undefined);
    assert.equal(parseCmakeProgress('make[2]: Entering directory \'/tmp/x/build\''), undefined);
    assert.equal(parseCmakeProgress('/tmp/x/src/ggml/src/ggml.c:12: warning: [42%] is not progress'), undefined);
    assert.equal(parseCmakeProgress('[512%] nonsense'), undefined);
    // The flags are build.sh's: static, native, no curl, only the server; a GPU backend adds its switch.
    assert.deepEqual(cmakeFlagsFor('cpu').filter((f) => /NATIVE|CURL|SHARED|CUDA|VULKAN/.test(f)), ['-DGGML_NATIVE=ON', '-DLLAMA_CURL=OFF', '-DBUILD_SHARED_LIBS=OFF']);
    assert.ok(cmakeFlagsFor('cuda').includes('-DGGML_CUDA=ON'));
    assert.ok(cmakeFlagsFor('vulkan').includes('-DGGML_VULKAN=ON'));
  });

  it('backend auto: CUDA only with nvcc and an NVIDIA GPU, Vulkan with glslc, its headers and a device, else CPU; a forced backend needs its compiler', async () => {
    // Fake device and PATH trees (as the GPU detection's own tests): this machine has nvcc but no GPU.
    const root = join(tmp.path, 'probe');
    const bin = join(root, 'bin');
    const dev = join(root, 'dev');
    await mkdir(join(dev, 'dri'), { recursive: true });
    await mkdir(bin, { recursive: true });
    const tool = async (name: string): Promise<void> => writeFile(join(bin, name), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const env = { PATH: bin };
    assert.deepEqual(await detectBuildBackend(env, { devDir: dev }), { backend: 'cpu', reason: 'no GPU toolchain (nvcc, glslc) found: CPU build' });
    await tool('nvcc');
    assert.deepEqual(await detectBuildBackend(env, { devDir: dev }), { backend: 'cpu', reason: `nvcc is here (${join(bin, 'nvcc')}) but no NVIDIA GPU: CPU build` });
    await writeFile(join(dev, 'nvidia0'), '');
    assert.deepEqual(await detectBuildBackend(env, { devDir: dev }), { backend: 'cuda', reason: `nvcc (${join(bin, 'nvcc')}) and an NVIDIA GPU (${join(dev, 'nvidia0')})` });
    // Vulkan: glslc, the headers (from VULKAN_SDK) and a render node; without the headers it stays CPU.
    await rm(join(bin, 'nvcc'));
    await tool('glslc');
    await writeFile(join(dev, 'dri', 'renderD128'), '');
    const sdk = join(root, 'vulkan-sdk');
    assert.equal((await detectBuildBackend({ ...env, VULKAN_SDK: sdk }, { devDir: dev })).backend, existsSync('/usr/include/vulkan/vulkan.h') ? 'vulkan' : 'cpu');
    await mkdir(join(sdk, 'include', 'vulkan'), { recursive: true });
    await writeFile(join(sdk, 'include', 'vulkan', 'vulkan.h'), '');
    assert.deepEqual(await detectBuildBackend({ ...env, VULKAN_SDK: sdk }, { devDir: dev }), { backend: 'vulkan', reason: `glslc (${join(bin, 'glslc')}), Vulkan headers (${join(sdk, 'include')}) and a Vulkan device` });
    // Forcing CUDA where nvcc is not on PATH: refused before anything runs, with what to install.
    const realTools = (process.env.PATH ?? '').split(':').filter((d) => !existsSync(join(d, 'nvcc'))).join(':');
    await assert.rejects(buildLlamaServer({ buildsDir: join(root, 'builds'), backend: 'cuda', env: { PATH: realTools } }), (err: unknown) => {
      assert.ok(err instanceof SovereignError);
      assert.equal(err.message, 'building llama.cpp needs nvcc, which is not on PATH');
      assert.match(err.hint ?? '', /install the CUDA toolkit .* or build with --backend cpu/);
      return true;
    });
    assert.ok(!existsSync(join(root, 'builds')), 'nothing was written');
  });

  it('builds a real cmake project end to end: clone, configure, compile with progress, --version, sha256 record, whole-folder install; then returns it; --force rebuilds', async () => {
    // The pipeline on a small C++ project with a llama-server target (compiling llama.cpp takes ~10 minutes).
    const toy = writeToyBundle(tmp.path);
    const buildsDir = join(tmp.path, 'toy-builds');
    const events: BuildProgress[] = [];
    const build = await buildLlamaServer({ buildsDir, bundle: toy.bundle, backend: 'cpu', jobs: 2, onProgress: (p) => events.push(p) });
    const dir = buildDirFor(buildsDir, toy.commit, 'cpu');
    assert.equal(build.dir, dir);
    assert.equal(build.binaryPath, join(dir, 'bin', 'llama-server'));
    const phases = events.map((e) => e.phase).filter((p, i, all) => all[i - 1] !== p);
    assert.deepEqual(phases, ['clone', 'configure', 'compile', 'install']);
    const percents = events.filter((e) => e.phase === 'compile' && e.line && /^\[\s*\d+%\]/.test(e.line)).map((e) => e.percent);
    assert.ok(percents.length >= 2 && percents.includes(100), `cmake progress: ${percents.join(', ')}`);
    const record = JSON.parse(readFileSync(join(dir, 'build.json'), 'utf8')) as NativeBuildRecord;
    assert.deepEqual(record, build.record);
    assert.equal(record.schema, 'sovereign.llama-cpp-build/v1');
    assert.equal(record.commit, toy.commit);
    assert.equal(record.backend, 'cpu');
    assert.equal(record.binary, 'bin/llama-server');
    assert.equal(record.sha256, await sha256File(build.binaryPath));
    assert.deepEqual(record.cmakeFlags, cmakeFlagsFor('cpu'));
    assert.match(record.compiler ?? '', /\S/);
    assert.ok(record.durationMs > 0 && Date.parse(record.builtAt) > 0);
    assert.equal(spawnSync(build.binaryPath, ['--version'], { encoding: 'utf8' }).stdout, 'version: 1 (toy)\n');
    // Only the folder itself: no work folder, no lock; in it the record and the one binary (not the other target).
    assert.deepEqual(readdirSync(buildsDir), [basename(dir)]);
    assert.deepEqual(readdirSync(dir).sort(), ['bin', 'build.json']);
    assert.deepEqual(readdirSync(join(dir, 'bin')), ['llama-server']);

    const again: BuildProgress[] = [];
    const second = await buildLlamaServer({ buildsDir, bundle: toy.bundle, backend: 'cpu', onProgress: (p) => again.push(p) });
    assert.equal(again.length, 0);
    assert.deepEqual(second.record, record);

    const forced = await buildLlamaServer({ buildsDir, bundle: toy.bundle, backend: 'cpu', force: true, onProgress: (p) => again.push(p) });
    assert.ok(again.some((e) => e.phase === 'compile'), 'force compiles again');
    assert.notEqual(forced.record.builtAt, record.builtAt);
    assert.equal(forced.record.sha256, await sha256File(forced.binaryPath));
    assert.deepEqual(readdirSync(buildsDir), [basename(dir)], 'the old folder was replaced whole, nothing left beside it');
  });

  it('a step that fails reports its last output lines with a hint, and keeps nothing (no work folder, no lock)', async () => {
    const broken = writeToyBundle(tmp.path, { broken: true });
    const buildsDir = join(tmp.path, 'broken-builds');
    await assert.rejects(buildLlamaServer({ buildsDir, bundle: broken.bundle, backend: 'cpu', jobs: 1 }), (err: unknown) => {
      assert.ok(err instanceof SovereignError);
      assert.match(err.message, /^building llama\.cpp failed in cmake --build \(compile\) \(exit 2\):\n/);
      assert.match(err.message, /server\.cpp.*error/);
      assert.match(err.hint ?? '', /--backend cpu/);
      return true;
    });
    assert.deepEqual(readdirSync(buildsDir), []);
  });

  it('a finished build is returned as it is, without a tool or a compile (no git, cmake or compiler on PATH)', async function () {
    const finished = await requireFinishedBuild(this);
    const buildsDir = join(tmp.path, 'finished');
    await mkdir(buildsDir, { recursive: true });
    await cp(finished, buildDirFor(buildsDir, commit, 'cpu'), { recursive: true });
    const emptyPath = join(tmp.path, 'empty-bin');
    await mkdir(emptyPath, { recursive: true });
    const events: BuildProgress[] = [];
    const t0 = Date.now();
    const build = await buildLlamaServer({ buildsDir, backend: 'auto', env: { PATH: emptyPath }, gpuProbe: { devDir: emptyPath }, onProgress: (p) => events.push(p) });
    const ms = Date.now() - t0;
    assert.equal(build.binaryPath, join(buildDirFor(buildsDir, commit, 'cpu'), 'bin', 'llama-server'));
    assert.equal(build.record.commit, commit);
    assert.equal(build.record.sha256, await sha256File(build.binaryPath));
    assert.deepEqual(events, [], 'a finished build reports no build phase');
    assert.deepEqual((await readdir(buildsDir)).sort(), [commit], 'no work folder, no lock, nothing else was written');
    assert.ok(ms < 5000, `returned in ${ms} ms`);
    // Without tools a build that is not finished fails at once, naming the missing tool and how to get it.
    await assert.rejects(buildLlamaServer({ buildsDir, backend: 'vulkan', env: { PATH: emptyPath } }), (err: unknown) => {
      assert.ok(err instanceof SovereignError);
      assert.match(err.message, /needs git, which is not on PATH/);
      assert.match(err.hint ?? '', /apt-get install -y git/);
      return true;
    });
  });

  it('a binary changed after its build is refused by the builder, readNativeBuild, findNativeBuild and engine status', async function () {
    const finished = await requireFinishedBuild(this);
    const buildsDir = join(tmp.path, 'tampered');
    const dir = buildDirFor(buildsDir, commit, 'cpu');
    await mkdir(buildsDir, { recursive: true });
    await cp(finished, dir, { recursive: true });
    await appendFile(join(dir, 'bin', 'llama-server'), Buffer.from([0]));
    const refused = (err: unknown): boolean => {
      assert.ok(err instanceof RefusedError, String(err));
      assert.match(err.message, /refused the native llama\.cpp build .*its sha256 is [0-9a-f]{64}, not the [0-9a-f]{64} recorded/);
      assert.match(err.hint ?? '', /sovereign engine build/);
      return true;
    };
    await assert.rejects(readNativeBuild(dir), refused);
    await assert.rejects(findNativeBuild({ buildsDir, commit }), refused);
    await assert.rejects(buildLlamaServer({ buildsDir, backend: 'cpu' }), refused);
    const status = await engineStatus({ buildsDir });
    assert.equal(status.gguf.llamaCpp, 'refused');
    const [entry] = status.builds;
    assert.equal(entry.ok, false);
    assert.ok(!entry.ok && /its sha256 is/.test(entry.error) && /engine build/.test(entry.hint ?? ''));
  });

  it('one build per builds dir: a live builder\'s lock is respected (clear message), a dead one\'s is taken over', async function () {
    const buildsDir = join(tmp.path, 'locked');
    await mkdir(buildsDir, { recursive: true });
    await writeFile(join(buildsDir, '.build.lock'), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: '2026-12-03T10:00:00.000Z' }));
    await assert.rejects(buildLlamaServer({ buildsDir, backend: 'cpu' }), (err: unknown) => {
      assert.ok(err instanceof SovereignError);
      assert.equal(err.message, `another llama.cpp build (pid ${process.pid}, started 2026-12-03T10:00:00.000Z) is running in ${buildsDir}`);
      assert.match(err.hint ?? '', /wait for it to finish/);
      return true;
    });
    assert.ok(!readdirSync(buildsDir).some((n) => n.startsWith('.work-')), 'no work folder was made while locked');
  });

  it('cancelling a real build in its configure phase stops every process of it and keeps nothing', async function () {
    const buildsDir = join(tmp.path, 'cancel');
    await mkdir(buildsDir, { recursive: true });
    // A stale lock left by a builder that died: taken over.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    await writeFile(join(buildsDir, '.build.lock'), JSON.stringify({ pid: dead, host: hostname(), startedAt: '2026-12-03T09:00:00.000Z' }));
    const controller = new AbortController();
    const phases = new Set<string>();
    let seen: number[] = [];
    let watching = false;
    const watch = async (): Promise<void> => {
      // Wait until cmake (and what it runs) is there, then cancel.
      for (let i = 0; i < 600 && !seen.length; i++) {
        seen = processesNaming(buildsDir);
        if (!seen.length) await new Promise((r) => setTimeout(r, 50));
      }
      controller.abort();
    };
    const started = Date.now();
    const result = buildLlamaServer({
      buildsDir,
      backend: 'cpu',
      jobs: 1,
      signal: controller.signal,
      onProgress: (p) => {
        phases.add(p.phase);
        if (p.phase === 'configure' && !watching) {
          watching = true;
          void watch();
        }
      },
    });
    await assert.rejects(result, (err: unknown) => {
      assert.ok(err instanceof BuildCancelledError, String(err));
      assert.match(err.message, /^the llama\.cpp build was cancelled: its processes were stopped and its work folder .*\.work-[0-9a-f]{40} removed; nothing was installed$/);
      assert.equal(err.exitCode, 2);
      return true;
    });
    assert.deepEqual([...phases], ['clone', 'configure'], 'it was cancelled while configuring');
    assert.ok(seen.length > 0, 'the configure step had processes to stop');
    assert.deepEqual(seen.filter(running), [], `processes of the build still run: ${seen.join(', ')}`);
    assert.deepEqual(processesNaming(buildsDir), [], 'no process works in the builds dir any more');
    assert.deepEqual(readdirSync(buildsDir), [], 'no work folder, no build folder, no lock');
    assert.ok(!existsSync(buildDirFor(buildsDir, commit, 'cpu')));
    process.stderr.write(`      cancelled after ${Date.now() - started} ms (${seen.length} processes stopped)\n`);
  });

  it('cancelling in the compile phase stops make and the compilers it started (real cmake progress seen first)', async function () {
    const buildsDir = join(tmp.path, 'cancel-compile');
    const controller = new AbortController();
    const percents: number[] = [];
    let compilers: number[] = [];
    let watching = false;
    const watch = async (): Promise<void> => {
      // Cancel once cmake reported progress and a compiler works on a llama.cpp source of this build.
      for (let i = 0; i < 1200 && !(compilers.length && percents.length >= 3); i++) {
        compilers = processesNaming(join(buildsDir, `.work-${commit}`, 'src'));
        if (!(compilers.length && percents.length >= 3)) await new Promise((r) => setTimeout(r, 50));
      }
      controller.abort();
    };
    const result = buildLlamaServer({
      buildsDir,
      backend: 'cpu',
      jobs: 2,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === 'compile' && p.percent !== undefined && p.line !== undefined && /^\[\s*\d+%\]/.test(p.line) && !controller.signal.aborted) percents.push(p.percent);
        if (p.phase === 'compile' && !watching) {
          watching = true;
          void watch();
        }
      },
    });
    await assert.rejects(result, (err: unknown) => err instanceof BuildCancelledError);
    assert.ok(compilers.length > 0, 'a compiler was running when the build was cancelled');
    assert.deepEqual(compilers.filter(running), [], `compiler processes still run: ${compilers.join(', ')}`);
    assert.deepEqual(processesNaming(buildsDir), []);
    assert.deepEqual(readdirSync(buildsDir), []);
    assert.ok(percents.length > 0 && percents.every((n) => n >= 0 && n <= 100), `percent from cmake's lines: ${percents.join(', ')}`);
  });
});
