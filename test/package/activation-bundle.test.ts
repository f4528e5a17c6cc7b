import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { REPO_ROOT } from '../../scripts/package/package';

// What VS Code loads at activation (docs/packaging.md, "Activation"): the shell, src/extension/extension.ts, bundled
// as esbuild.mjs does, with nothing external but `vscode`: whatever it imports would show up in the bundle.
describe('the activation bundle (dist/extension.js)', () => {
  let inputs: string[];
  let text: string;
  before(async () => {
    const result = await esbuild.build({
      absWorkingDir: REPO_ROOT,
      entryPoints: ['src/extension/extension.ts'],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      external: ['vscode'],
      metafile: true,
      write: false,
      logLevel: 'silent',
    });
    inputs = Object.keys(result.metafile.inputs).sort();
    text = result.outputFiles[0]!.text;
  });

  it('holds the shell and its stand-ins only: no core module, no dependency, no workbench code', () => {
    assert.deepEqual(inputs, ['src/extension/extension.ts', 'src/extension/lazy.ts']);
    assert.ok(text.length < 20_000, `the activation bundle is ${text.length} bytes`);
  });

  it('requires only vscode, Node built-ins and the workbench bundle (by its path, at first use)', () => {
    const required = [...text.matchAll(/\brequire\(([^)]*)\)/g)].map((m) => m[1]!.trim());
    const literal = required.filter((r) => /^["']/.test(r)).map((r) => r.slice(1, -1));
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    assert.deepEqual(literal.filter((r) => r !== 'vscode' && !builtins.has(r)), []);
    // The one computed require: the workbench bundle, inside load().
    assert.equal(required.filter((r) => !/^["']/.test(r)).length, 1, `computed requires: ${required.join(', ')}`);
    assert.match(text, /"extension-main\.js"/);
  });

  it('the workbench it loads is an entry point of the build, next to it in dist/', async () => {
    const build = await readFile(join(REPO_ROOT, 'esbuild.mjs'), 'utf8');
    assert.match(build, /entryPoints: \['src\/extension\/main\.ts'\], outfile: 'dist\/extension-main\.js'/);
    assert.match(build, /entryPoints: \['src\/extension\/extension\.ts'\], outfile: 'dist\/extension\.js'/);
  });
});
