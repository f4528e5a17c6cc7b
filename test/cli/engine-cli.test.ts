import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { appendFile, cp, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EngineStatus } from '../../src/core/engines/native/build';
import { buildDirFor, bundleCommit, bundlePath } from '../../src/core/engines/native/builds';
import { sha256File } from '../../src/core/hash/sha256';
import { requireFinishedBuild, processesNaming } from '../core/engines/native/finished-build';
import { CLI, runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

describe('sovereign engine build / engine status (CLI)', function () {
  this.timeout(120_000);
  let tmp: { path: string; cleanup: () => Promise<void> };
  let commit: string;
  before(async () => {
    tmp = await tempDir('sovereign-engine-cli-');
    commit = await bundleCommit();
  });
  after(() => tmp.cleanup());

  async function withCopy(finished: string, name: string): Promise<string> {
    const buildsDir = join(tmp.path, name);
    await mkdir(buildsDir, { recursive: true });
    await cp(finished, buildDirFor(buildsDir, commit, 'cpu'), { recursive: true });
    return buildsDir;
  }

  it('engine status --json: the bundled commit, each build verified, and the native build the GGUF engine would use', async function () {
    const finished = await requireFinishedBuild(this);
    const buildsDir = await withCopy(finished, 'status');
    // The builds dir from the environment, as the engine finds it.
    const r = await runCli(['engine', 'status', '--json'], { env: { SOVEREIGN_LLAMA_CPP_BUILDS: buildsDir } });
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as EngineStatus;
    const binaryPath = join(buildDirFor(buildsDir, commit, 'cpu'), 'bin', 'llama-server');
    assert.equal(s.schema, 'sovereign.engine-status/v1');
    assert.deepEqual(s.bundle, { path: bundlePath(), commit });
    assert.equal(s.buildsDir, buildsDir);
    assert.ok(['cpu', 'cuda', 'vulkan'].includes(s.autoBackend.backend) && s.autoBackend.reason.length > 0);
    assert.deepEqual(s.builds, [
      { name: commit, dir: buildDirFor(buildsDir, commit, 'cpu'), ok: true, commit, backend: 'cpu', binaryPath, sha256: await sha256File(binaryPath), builtAt: (JSON.parse(await readFile(join(finished, 'build.json'), 'utf8')) as { builtAt: string }).builtAt, bundled: true },
    ]);
    assert.deepEqual(s.gguf, { llamaCpp: 'native', binaryPath, backend: 'cpu' });

    const text = await runCli(['engine', 'status', '--dir', buildsDir]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^llama\\.cpp source: .*gitRelease\\.bundle \\(commit ${commit}\\)$`, 'm'));
    assert.match(text.stdout, new RegExp(`^GGUF engine: native build ${binaryPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(cpu\\)$`, 'm'));
  });

  it('engine status with no build: prebuilt node-llama-cpp, exit 0', async () => {
    const r = await runCli(['engine', 'status', '--json', '--dir', join(tmp.path, 'none')]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as EngineStatus;
    assert.deepEqual(s.builds, []);
    assert.equal(s.gguf.llamaCpp, 'prebuilt');
    assert.match(s.gguf.llamaCpp === 'prebuilt' ? s.gguf.reason : '', /run `sovereign engine build`/);
  });

  it('engine status refuses a build whose binary changed after it was built: exit 1, the message and what to do', async function () {
    const finished = await requireFinishedBuild(this);
    const buildsDir = await withCopy(finished, 'tampered');
    await appendFile(join(buildDirFor(buildsDir, commit, 'cpu'), 'bin', 'llama-server'), '#');
    const text = await runCli(['engine', 'status', '--dir', buildsDir]);
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stdout, new RegExp(`^  REFUSED  ${commit}: refused the native llama\\.cpp build .*its sha256 is [0-9a-f]{64}, not the [0-9a-f]{64} recorded when it was built`, 'm'));
    assert.match(text.stdout, /^ {4}hint: remove .* and run `sovereign engine build` again/m);
    assert.match(text.stdout, /^GGUF engine: refuses the native build: /m);
    const j = await runCli(['engine', 'status', '--json', '--dir', buildsDir]);
    assert.equal(j.code, 1);
    const s = JSON.parse(j.stdout) as EngineStatus;
    assert.equal(s.gguf.llamaCpp, 'refused');
    assert.equal(s.builds[0]?.ok, false);
    // The builder refuses it too (no silent rebuild over it): exit 1 with the same advice.
    const b = await runCli(['engine', 'build', '--backend', 'cpu', '--dir', buildsDir]);
    assert.equal(b.code, 1);
    assert.equal(b.stdout, '');
    assert.match(b.stderr, /refused the native llama\.cpp build/);
  });

  it('engine build on a finished build prints its path (stdout) or its record (--json) and compiles nothing', async function () {
    const finished = await requireFinishedBuild(this);
    const buildsDir = await withCopy(finished, 'again');
    const binaryPath = join(buildDirFor(buildsDir, commit, 'cpu'), 'bin', 'llama-server');
    const r = await runCli(['engine', 'build', '--backend', 'cpu', '--dir', buildsDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${binaryPath}\n`);
    assert.match(r.stderr, /is already built \(cpu, .*\); --force rebuilds it/);
    const j = await runCli(['engine', 'build', '--backend', 'cpu', '--dir', buildsDir, '--json']);
    assert.equal(j.code, 0, j.stderr);
    const out = JSON.parse(j.stdout) as { schema: string; built: boolean; binaryPath: string; record: { sha256: string; commit: string } };
    assert.equal(out.schema, 'sovereign.engine-build/v1');
    assert.equal(out.built, false);
    assert.equal(out.binaryPath, binaryPath);
    assert.equal(out.record.sha256, await sha256File(binaryPath));
    assert.deepEqual(readdirSync(buildsDir), [commit]);
  });

  it('bad options are usage errors (exit 2, with the choices)', async () => {
    const r = await runCli(['engine', 'build', '--backend', 'metal', '--dir', join(tmp.path, 'x')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown backend "metal"\n {2}hint: use one of: auto, cpu, cuda, vulkan/);
    const j = await runCli(['engine', 'build', '--jobs', '0', '--dir', join(tmp.path, 'x')]);
    assert.equal(j.code, 2);
    assert.match(j.stderr, /--jobs must be a whole number from 1/);
  });

  it('Ctrl-C (SIGINT) during a real build stops the build\'s processes and keeps nothing (exit 2)', async () => {
    const buildsDir = join(tmp.path, 'interrupted');
    const child = spawn(process.execPath, [CLI, 'engine', 'build', '--backend', 'cpu', '--jobs', '1', '--dir', buildsDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const interrupted = new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/llama\.cpp build: configure/.test(stderr)) resolve();
      }),
    );
    const code = new Promise<number | null>((resolve) => child.on('close', resolve));
    await interrupted;
    await new Promise((r) => setTimeout(r, 1000));
    child.kill('SIGINT');
    assert.equal(await code, 2, stderr);
    assert.equal(stdout, '');
    assert.match(stderr, /SIGINT: cancelling the build/);
    assert.match(stderr, /the llama\.cpp build was cancelled: its processes were stopped/);
    assert.deepEqual(readdirSync(buildsDir), []);
    assert.deepEqual(processesNaming(buildsDir), [], 'no process of the build is left');
  });
});
