import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cliLauncher, defaultLauncherPath, installCliLauncher, launcherState, onPath } from '../../../src/core/util/cli-launcher';
import { RefusedError } from '../../../src/core/util/errors';
import { tempDir } from '../../helpers/tmp';

const run = promisify(execFile);

describe('the sovereign CLI launcher', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    tmp = await tempDir();
  });
  after(async () => {
    await tmp.cleanup();
  });

  it('goes to ~/.local/bin on Linux and macOS and under LOCALAPPDATA on Windows', () => {
    assert.equal(defaultLauncherPath({ platform: 'linux', home: '/home/ada' }), '/home/ada/.local/bin/sovereign');
    assert.equal(defaultLauncherPath({ platform: 'darwin', home: '/Users/ada' }), '/Users/ada/.local/bin/sovereign');
    assert.equal(defaultLauncherPath({ platform: 'win32', home: 'C:\\Users\\ada', env: { LOCALAPPDATA: 'C:\\Users\\ada\\AppData\\Local' } }), 'C:\\Users\\ada\\AppData\\Local\\Programs\\sovereign\\sovereign.cmd');
  });

  it('runs the given CLI with the given runtime, arguments passed through, paths with spaces and quotes intact', async () => {
    const cli = join(tmp.path, "the cli's dir", 'cli.js');
    await mkdir(join(tmp.path, "the cli's dir"), { recursive: true });
    await writeFile(cli, 'process.stdout.write(JSON.stringify({ args: process.argv.slice(2), electron: process.env.ELECTRON_RUN_AS_NODE }));\n');
    const launcher = cliLauncher({ runtime: process.execPath, cli, platform: 'linux', home: tmp.path }, join(tmp.path, 'bin', 'sovereign'));
    assert.equal(await installCliLauncher(launcher, false), 'absent');
    const { stdout } = await run(launcher.path, ['scan', 'a b', '--json'], { env: { PATH: '/usr/bin:/bin' } });
    assert.deepEqual(JSON.parse(stdout), { args: ['scan', 'a b', '--json'], electron: '1' });
    assert.equal(await launcherState(launcher), 'same');
    assert.equal(await installCliLauncher(launcher, false), 'same');
  });

  it('refuses to replace a file without consent, and replaces it with consent', async () => {
    const path = join(tmp.path, 'bin2', 'sovereign');
    const launcher = cliLauncher({ runtime: process.execPath, cli: '/opt/cli.js', platform: 'linux', home: tmp.path }, path);
    await installCliLauncher(cliLauncher({ runtime: process.execPath, cli: '/old/cli.js', platform: 'linux', home: tmp.path }, path), false);
    assert.equal(await launcherState(launcher), 'ours');
    await assert.rejects(installCliLauncher(launcher, false), RefusedError);
    await writeFile(path, 'something else\n');
    assert.equal(await launcherState(launcher), 'foreign');
    await assert.rejects(installCliLauncher(launcher, false), /exists already/);
    assert.equal(await readFile(path, 'utf8'), 'something else\n');
    assert.equal(await installCliLauncher(launcher, true), 'foreign');
    assert.equal(await readFile(path, 'utf8'), launcher.content);
  });

  it('writes a .cmd for Windows that sets ELECTRON_RUN_AS_NODE and passes every argument', () => {
    const l = cliLauncher({ runtime: 'C:\\Program Files\\Code\\Code.exe', cli: 'C:\\ext\\dist\\cli.js', platform: 'win32', home: 'C:\\Users\\ada', env: {} });
    assert.match(l.path, /sovereign\.cmd$/);
    assert.match(l.content, /set ELECTRON_RUN_AS_NODE=1\r\n"C:\\Program Files\\Code\\Code\.exe" "C:\\ext\\dist\\cli\.js" %\*/);
  });

  it('tells whether the launcher folder is on PATH', () => {
    assert.equal(onPath('/home/ada/.local/bin/sovereign', { PATH: '/usr/bin:/home/ada/.local/bin/' }, 'linux'), true);
    assert.equal(onPath('/home/ada/.local/bin/sovereign', { PATH: '/usr/bin' }, 'linux'), false);
    assert.equal(onPath('C:\\x\\sovereign.cmd', { Path: 'c:\\X\\;C:\\Windows' }, 'win32'), true);
    assert.equal(onPath('C:\\x\\sovereign.cmd', { Path: 'C:\\Windows' }, 'win32'), false);
  });
});
