import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { runExtensionHostSuite } from '../../scripts/e2e/extension-host';
import { prepareMultiRootWorkspace } from '../../scripts/e2e/multi-root-workspace';
import { SCREENSHOT_DIR, session } from './support/session';

// The suite in test/extension/*.ext.ts, compiled to out/test/extension (`npm run build`), run INSIDE
// code-server's extension host with the full `vscode` API. Its mocha output is streamed here.
describe('extension-host suite inside code-server (VS Code 1.139.1)', () => {
  it('passes', async function () {
    this.timeout(240_000);
    const s = session();
    const output: string[] = [];
    const code = await runExtensionHostSuite({
      context: s.browser.context,
      origin: s.server.origin,
      repoRoot: s.repoRoot,
      workspace: s.workspace.dir,
      write: (text) => {
        output.push(text);
        process.stdout.write(text.replace(/^/gm, '    | '));
      },
      timeoutMs: 200_000,
      screenshotPath: join(SCREENSHOT_DIR, 'extension-host-suite.png'),
    });
    assert.equal(code, 0, `the extension-host suite exited with ${code}:\n${output.join('').slice(-4000)}`);
    assert.match(output.join(''), /passing/, 'no mocha report came back from the extension host');
  });

  // test/extension-multiroot/*.ext.ts in a window that opens a `.code-workspace` with two folders, each a git
  // repository with its own registry (scripts/e2e/multi-root-workspace.ts).
  it('passes in a multi-root workspace with two registries', async function () {
    this.timeout(300_000);
    const s = session();
    const workspace = await prepareMultiRootWorkspace(join(s.stateDir, 'multi-root'));
    const output: string[] = [];
    const code = await runExtensionHostSuite({
      context: s.browser.context,
      origin: s.server.origin,
      repoRoot: s.repoRoot,
      workspace: workspace.file,
      testsPath: join(s.repoRoot, 'out', 'test', 'extension-multiroot', 'index.js'),
      write: (text) => {
        output.push(text);
        process.stdout.write(text.replace(/^/gm, '    | '));
      },
      timeoutMs: 200_000,
      screenshotPath: join(SCREENSHOT_DIR, 'extension-host-multi-root.png'),
    });
    assert.equal(code, 0, `the multi-root extension-host suite exited with ${code}:\n${output.join('').slice(-4000)}`);
    assert.match(output.join(''), /passing/, 'no mocha report came back from the extension host');
    assert.doesNotMatch(output.join(''), /pending/, 'every multi-root test ran');
  });
});
