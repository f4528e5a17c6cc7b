import { strict as assert } from 'node:assert';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { buildDirFor, bundleCommit } from '../../src/core/engines/native/builds';
import { sha256File } from '../../src/core/hash/sha256';
import { requireFinishedBuild } from '../core/engines/native/finished-build';
import { activatedExtension } from './support/vscode';

interface EngineBuildResult {
  binaryPath: string;
  dir: string;
  record: { commit: string; backend: string; sha256: string };
  built: boolean;
}

describe('Sovereign: Build llama.cpp for This Machine', () => {
  let dir: string;
  before(async () => {
    await activatedExtension();
    dir = await mkdtemp(join(tmpdir(), 'sovereign-ext-engine-build-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('is contributed, and returns a finished build of the bundled commit without compiling it', async function () {
    const finished = await requireFinishedBuild(this);
    const commit = await bundleCommit();
    await cp(finished, buildDirFor(dir, commit, 'cpu'), { recursive: true });
    const result = await vscode.commands.executeCommand<EngineBuildResult | undefined>('sovereign.engine.build', { buildsDir: dir, backend: 'cpu' });
    assert.ok(result, 'the command returned the build');
    assert.equal(result.built, false);
    assert.equal(result.binaryPath, join(buildDirFor(dir, commit, 'cpu'), 'bin', 'llama-server'));
    assert.equal(result.record.commit, commit);
    assert.equal(result.record.sha256, await sha256File(result.binaryPath));
    assert.deepEqual(await readdir(dir), [commit]);
  });
});
