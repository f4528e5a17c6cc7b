import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { runExtensionHostSuite } from '../../scripts/e2e/extension-host';
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
});
