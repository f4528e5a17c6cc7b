import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as vscode from 'vscode';
import { activatedExtension } from './support/vscode';

const run = promisify(execFile);

describe('Sovereign: Install CLI in PATH', () => {
  let dir: string;
  before(async () => {
    await activatedExtension();
    dir = await mkdtemp(join(tmpdir(), 'sovereign-cli-install-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes a launcher that runs the extension's own CLI with the extension host's runtime", async function () {
    if (process.platform === 'win32') this.skip();
    const path = join(dir, 'bin', 'sovereign');
    const written = await vscode.commands.executeCommand<string | undefined>('sovereign.installCli', { path });
    assert.equal(written, path);
    assert.ok(((await stat(path)).mode & 0o111) !== 0, 'the launcher is not executable');
    const extension = await activatedExtension();
    const launcher = await readFile(path, 'utf8');
    assert.ok(launcher.includes(join(extension.extensionPath, 'dist', 'cli.js')), launcher);
    assert.ok(launcher.includes(process.execPath), launcher);
    // The launcher really runs the bundled CLI: its version is the extension's.
    const { stdout } = await run(path, ['--version'], { env: { PATH: '/usr/bin:/bin' } });
    assert.equal(stdout.trim(), (extension.packageJSON as { version: string }).version);
  });

  it('leaves a file that is not its own alone unless told to replace it', async function () {
    if (process.platform === 'win32') this.skip();
    const path = join(dir, 'other', 'sovereign');
    await mkdir(join(dir, 'other'), { recursive: true });
    await writeFile(path, '#!/bin/sh\necho someone else\n');
    const refused = await vscode.commands.executeCommand<string | undefined>('sovereign.installCli', { path, overwrite: false });
    assert.equal(refused, undefined);
    assert.equal(await readFile(path, 'utf8'), '#!/bin/sh\necho someone else\n');
    const replaced = await vscode.commands.executeCommand<string | undefined>('sovereign.installCli', { path, overwrite: true });
    assert.equal(replaced, path);
    assert.match(await readFile(path, 'utf8'), /sovereign-workbench CLI launcher/);
  });
});
