import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { locateFolderWorkspaces, rootHolding } from '../../../src/core/workspace/folders';
import { tempDir } from '../../helpers/tmp';

/** The folders of a multi-root window, resolved to their workspaces with real git repositories. */
describe('workspace folders: the registries of a multi-root window', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let base: string;

  before(async () => {
    tmp = await tempDir('sovereign-folders-');
    base = await realpath(tmp.path);
    for (const repo of ['alpha', 'beta', 'gamma']) {
      await mkdir(join(base, repo, 'src'), { recursive: true });
      execFileSync('git', ['init', '-q'], { cwd: join(base, repo) });
    }
    // alpha and beta hold a registry; gamma is a git repository without one; plain is not a repository
    await mkdir(join(base, 'alpha', '.sovereign', 'models'), { recursive: true });
    await mkdir(join(base, 'beta', '.sovereign'), { recursive: true });
    await mkdir(join(base, 'plain'), { recursive: true });
  });
  after(() => tmp.cleanup());

  it('gives one workspace per distinct root, in folder order, governed where .sovereign/ is', async () => {
    const found = await locateFolderWorkspaces([join(base, 'gamma'), join(base, 'beta'), join(base, 'alpha'), join(base, 'plain')]);
    assert.deepEqual(
      found.map((f) => [f.root, f.git, f.governed]),
      [
        [join(base, 'gamma'), true, false],
        [join(base, 'beta'), true, true],
        [join(base, 'alpha'), true, true],
        [join(base, 'plain'), false, false],
      ],
    );
  });

  it('merges two folders of one repository into its one registry', async () => {
    const found = await locateFolderWorkspaces([join(base, 'alpha'), join(base, 'beta'), join(base, 'alpha', 'src')]);
    assert.equal(found.length, 2);
    assert.deepEqual(found[0], { root: join(base, 'alpha'), git: true, governed: true, folders: [join(base, 'alpha'), join(base, 'alpha', 'src')] });
    assert.equal(found[1].root, join(base, 'beta'));
  });

  it('finds the root that holds a path, the deepest when roots nest, none outside', () => {
    const roots = [join(base, 'alpha'), join(base, 'beta'), join(base, 'alpha', 'src')];
    assert.equal(rootHolding(join(base, 'beta', 'm.gguf'), roots), join(base, 'beta'));
    assert.equal(rootHolding(join(base, 'alpha', 'src', 'x', 'm.onnx'), roots), join(base, 'alpha', 'src'));
    assert.equal(rootHolding(join(base, 'alpha'), roots), join(base, 'alpha'));
    assert.equal(rootHolding(join(base, 'alphabet', 'm.gguf'), roots), undefined);
    assert.equal(rootHolding(join(base, 'gamma', 'm.gguf'), roots), undefined);
  });
});
