import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

/**
 * The four browser bundles build as esbuild.mjs builds them, and contain nothing the strict CSP would
 * refuse at run time: no eval, no new Function (Chart.js, Lit and @vscode-elements do not need them),
 * and no Node built-ins (dagre stays in the core worker).
 */
describe('webview bundles', function () {
  this.timeout(120_000);
  let out: string;
  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'sovereign-webview-bundles-'));
  });
  after(() => rm(out, { recursive: true, force: true }));

  for (const view of ['lineage', 'benchmarks', 'policy', 'deployments']) {
    it(`${view}: builds for the browser with no eval`, async () => {
      const result = await build({ entryPoints: [`webview/${view}/main.ts`], outfile: join(out, `${view}.js`), bundle: true, platform: 'browser', format: 'iife', target: 'chrome114', write: true, logLevel: 'silent', metafile: true });
      assert.deepEqual(result.errors, []);
      const code = await readFile(join(out, `${view}.js`), 'utf8');
      assert.ok(!/\bnew Function\s*\(/.test(code), 'new Function');
      assert.ok(!/(^|[^\w.$])eval\s*\(/.test(code), 'eval');
      const inputs = Object.keys(result.metafile!.inputs);
      assert.ok(!inputs.some((i) => i.includes('@dagrejs') || i.startsWith('src/core/')), `bundle pulls in host code: ${inputs.filter((i) => i.startsWith('src/'))}`);
      assert.ok(inputs.some((i) => i.includes('@vscode-elements/elements')), 'uses @vscode-elements');
      if (view === 'benchmarks') assert.ok(inputs.some((i) => i.includes('chart.js')));
    });
  }
});
