import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from '../../scripts/package/package';

interface Manifest {
  engines: { vscode: string };
  devDependencies: Record<string, string>;
  icon: string;
  galleryBanner: { color: string; theme: string };
  categories: string[];
  keywords: string[];
  extensionKind: string[];
  license: string;
  repository: { url: string };
  bin: Record<string, string>;
  contributes: { commands: Array<{ command: string; title: string }> };
}

const read = async (p: string): Promise<Buffer> => readFile(join(REPO_ROOT, p));

// What the Marketplace and Open VSX read from the manifest, checked on the source (the staged package.json is
// this one minus scripts and devDependencies: vsce cannot compare engines.vscode with @types/vscode there).
describe('the extension manifest for the Marketplace and Open VSX', () => {
  let m: Manifest;
  before(async () => {
    m = JSON.parse((await read('package.json')).toString('utf8')) as Manifest;
  });

  it('engines.vscode is no older than the @types/vscode the code is compiled against', () => {
    const engine = /^\^(\d+)\.(\d+)\.(\d+)$/.exec(m.engines.vscode);
    const types = /^(\d+)\.(\d+)\.(\d+)$/.exec(m.devDependencies['@types/vscode'] ?? '');
    assert.ok(engine && types, `engines.vscode ${m.engines.vscode}, @types/vscode ${m.devDependencies['@types/vscode']}`);
    const n = (x: RegExpExecArray): number => Number(x[1]) * 1e6 + Number(x[2]) * 1e3 + Number(x[3]);
    assert.ok(n(engine) >= n(types), `engines.vscode ${m.engines.vscode} is older than @types/vscode ${m.devDependencies['@types/vscode']}: APIs the code uses would be missing`);
  });

  it('has a 128 x 128 PNG icon, a gallery banner, known categories and keywords', async () => {
    const png = await read(m.icon);
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [128, 128]);
    assert.match(m.galleryBanner.color, /^#[0-9a-f]{6}$/i);
    assert.ok(['dark', 'light'].includes(m.galleryBanner.theme));
    const known = ['AI', 'Azure', 'Chat', 'Data Science', 'Debuggers', 'Education', 'Extension Packs', 'Formatters', 'Keymaps', 'Language Packs', 'Linters', 'Machine Learning', 'Notebooks', 'Programming Languages', 'SCM Providers', 'Snippets', 'Testing', 'Themes', 'Visualization', 'Other'];
    assert.deepEqual(m.categories.filter((c) => !known.includes(c)), []);
    assert.ok(m.keywords.length > 0 && m.keywords.length <= 30);
  });

  it('runs where the workspace is (Remote-SSH, WSL, dev containers) and ships its CLI', () => {
    assert.deepEqual(m.extensionKind, ['workspace']);
    assert.equal(m.bin.sovereign, './bin/sovereign.js');
    assert.ok(m.contributes.commands.some((c) => c.command === 'sovereign.installCli' && c.title === 'Install CLI in PATH'));
  });

  it('carries the Apache-2.0 licence text, a changelog, and a README whose first section says how to install the VSIX', async () => {
    assert.equal(m.license, 'Apache-2.0');
    assert.match((await read('LICENSE')).toString('utf8'), /Apache License\s+Version 2\.0, January 2004/);
    assert.ok((await read('CHANGELOG.md')).length > 0);
    const readme = (await read('README.md')).toString('utf8');
    const firstSection = readme.split('\n## ')[1] ?? '';
    assert.match(firstSection, /^Install\n/);
    assert.match(firstSection, /--install-extension sovereign-workbench-linux-x64-/);
    for (const image of readme.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)) {
      assert.ok(!image[1]!.endsWith('.svg'), `the marketplace refuses SVG images in the README: ${image[1]}`);
      if (!/^https:/.test(image[1]!)) await read(image[1]!);
    }
  });
});
