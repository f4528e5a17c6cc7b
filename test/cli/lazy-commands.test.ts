import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { COMMANDS, commandModulesFor, main } from '../../src/cli/main';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

/**
 * CLI start (issue 18): a command's modules are loaded only when it runs, `--version` loads none, help all of
 * them; the launcher's code cache gives the same results as a plain load.
 */
describe('sovereign CLI: commands load only when they run', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let small: string;
  before(async () => {
    dir = await tempDir();
    small = join(dir.path, 'notes.txt');
    await writeFile(small, 'just text\n');
  });
  after(() => dir.cleanup());

  it('picks the modules argv needs: the named command, none for --version, all for help and unknown names', () => {
    const all = Object.keys(COMMANDS);
    assert.deepEqual(commandModulesFor(['scan', 'x.bin']), ['scan']);
    assert.deepEqual(commandModulesFor(['registry', 'add', '--version', '1.0.0', 'x.gguf']), ['registry']);
    assert.deepEqual(commandModulesFor(['--version']), []);
    assert.deepEqual(commandModulesFor(['-V']), []);
    assert.deepEqual(commandModulesFor([]), all);
    assert.deepEqual(commandModulesFor(['--help']), all);
    assert.deepEqual(commandModulesFor(['-h', 'scan']), all);
    assert.deepEqual(commandModulesFor(['--version', '--help']), all);
    assert.deepEqual(commandModulesFor(['help', 'scan']), all);
    assert.deepEqual(commandModulesFor(['scna']), all);
  });

  it('every entry of the table registers the command it is named after, and only commands the table names', () => {
    for (const [name, load] of Object.entries(COMMANDS)) {
      const program = new Command('sovereign');
      load().register(program);
      const names = program.commands.map((c) => c.name());
      assert.ok(names.includes(name), `COMMANDS.${name} must register '${name}' (it registers ${names.join(', ')})`);
      // A module may register several commands (one entry per name, the same loader): each must be in the table,
      // else `sovereign NAME` would not find it without loading everything.
      for (const n of names) assert.ok(Object.hasOwn(COMMANDS, n), `'${n}' (registered by COMMANDS.${name}) needs its own entry in COMMANDS`);
    }
  });

  /** Runs main(argv) in a fresh Node process; returns its exit code and the command and format-reader modules it loaded. */
  function loaded(argv: string[]): { code: number; modules: string[] } {
    const mainPath = resolve(__dirname, '../../src/cli/main');
    const fromSource = __filename.endsWith('.ts');
    const script = `
      const m = require(${JSON.stringify(mainPath)});
      m.main(${JSON.stringify(argv)}).then((code) => {
        const mods = Object.keys(require.cache)
          .filter((f) => /[\\\\/]src[\\\\/](cli[\\\\/]commands|core[\\\\/]formats[\\\\/][a-z]+[\\\\/]analyze)/.test(f))
          .map((f) => f.replace(/^.*[\\\\/]src[\\\\/]/, '').replace(/\\.(ts|js)$/, '').split('\\\\').join('/'));
        require('fs').writeSync(3, JSON.stringify({ code, modules: mods.sort() }));
      });`;
    const args = [...(fromSource ? ['--require', require.resolve('tsx/cjs')] : []), '-e', script];
    const child = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    const out = String(child.output[3] ?? '');
    assert.ok(out, `the child reported nothing (exit ${child.status}): ${String(child.stderr)}`);
    return JSON.parse(out) as { code: number; modules: string[] };
  }

  it('`scan FILE` loads the scan command alone and no format reader for a plain text file; --version loads no command', () => {
    const scan = loaded(['scan', small]);
    assert.equal(scan.code, 0);
    assert.deepEqual(scan.modules, ['cli/commands/scan']);
    const version = loaded(['--version']);
    assert.equal(version.code, 0);
    assert.deepEqual(version.modules, []);
  });

  it('a format reader is loaded when a file of its format is scanned', async () => {
    const gguf = join(dir.path, 'bad.gguf');
    await writeFile(gguf, Buffer.concat([Buffer.from('GGUF'), Buffer.from([3, 0, 0, 0]), Buffer.alloc(8)]));
    const r = loaded(['scan', gguf]);
    assert.equal(r.code, 1, 'a truncated GGUF is a finding');
    assert.deepEqual(r.modules, ['cli/commands/scan', 'core/formats/gguf/analyze']);
  });

  it('help still lists every command', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const name of Object.keys(COMMANDS)) assert.match(r.stdout, new RegExp(`^  ${name}\\b`, 'm'), `--help lists ${name}`);
    const unknown = await runCli(['scna']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'scna'[\s\S]*Did you mean scan\?/);
  });

  it('main() still runs a command in this process (exit codes unchanged)', async () => {
    assert.equal(await main(['scan', '--output', join(dir.path, 'report.txt'), small]), 0);
  });

  it('the launcher writes a code cache per command and a cached start gives the same results, package imports included', async () => {
    const cache = join(dir.path, 'compile-cache');
    const env = { SOVEREIGN_COMPILE_CACHE: cache, DOCKER_HOST: `unix://${join(dir.path, 'no-docker.sock')}` };
    const first = await runCli(['scan', '--format', 'json', small], { env });
    assert.equal(first.code, 0, first.stderr);
    const files = await readdir(cache);
    assert.ok(files.some((f) => /^cli-.*-scan\.bin$/.test(f)), `a scan cache in ${files.join(', ')}`);
    const second = await runCli(['scan', '--format', 'json', small], { env });
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(JSON.parse(second.stdout), JSON.parse(first.stdout));
    // `deploy status` loads dockerode (an import() in the source) from the cached bundle: the engine's
    // absence is reported, not a loader error.
    for (let i = 0; i < 2; i++) {
      const r = await runCli(['deploy', 'status'], { env });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /Docker engine does not answer/);
    }
    const off = await runCli(['scan', '--format', 'json', small], { env: { SOVEREIGN_COMPILE_CACHE: 'off' } });
    assert.deepEqual(JSON.parse(off.stdout), JSON.parse(first.stdout));
  });

  it('the launcher neither reads nor writes a code cache in a folder others can write to (V8 trusts cached data)', async function () {
    if (process.platform === 'win32') this.skip();
    const shared = join(dir.path, 'shared-cache');
    await mkdir(shared);
    await chmod(shared, 0o777);
    const r = await runCli(['scan', small], { env: { SOVEREIGN_COMPILE_CACHE: shared } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await readdir(shared), []);
  });
});
