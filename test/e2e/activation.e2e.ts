import { strict as assert } from 'node:assert';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { session } from './support/session';
import { nativeLibrariesOfExtensionHosts, processesRunning } from './support/processes';
import { manifest, plainText, Workbench } from './support/workbench';

// Runs first (file order): the extension host has done nothing but activate the extension.
describe('the installed extension activates lazily', () => {
  let wb: Workbench;
  before(async () => {
    wb = await Workbench.open();
  });
  after(async () => {
    await wb.close();
  });

  it('activates in the real workbench without loading a native module, and reports its activation time', async function () {
    this.timeout(120_000);
    const s = session();
    const m = manifest() as ReturnType<typeof manifest> & { displayName?: string; version?: string };
    // VS Code's own figure (Developer: Show Running Extensions): code loading + the activate() call.
    await wb.runCommand('Developer: Show Running Extensions');
    // The list is sorted by activation time, slowest first, and virtualized: a fast extension is below the fold.
    const row = await wb.listRow(wb.page.locator('.runtime-extensions-editor'), m.displayName ?? m.name, new Set(), 60_000);
    let text = '';
    const deadline = Date.now() + 60_000;
    while (!/\d+\s*ms/.test(text)) {
      if (Date.now() > deadline) throw new Error(`the extension never showed an activation time (row: "${text}")`);
      await wb.page.waitForTimeout(500);
      text = plainText(await row.first().locator('.activation-time').innerText().catch(() => ''));
    }
    const activationMs = Number(/(\d+)\s*ms/.exec(text)![1]);
    await wb.screenshot('running-extensions');
    // The reference of the same run and machine: VS Code's built-in extensions in the same list (on a loaded
    // 2-core machine every figure is several times what it is on an idle one).
    const others: Record<string, number> = {};
    for (const r of await wb.page.locator('.runtime-extensions-editor .monaco-list-row').all()) {
      const name = plainText(await r.locator('.name').innerText().catch(() => ''));
      const ms = /(\d+)\s*ms/.exec(plainText(await r.locator('.activation-time').innerText().catch(() => '')));
      if (name && ms && name !== (m.displayName ?? m.name)) others[name] = Number(ms[1]);
    }
    const sorted = Object.values(others).sort((a, b) => a - b);
    const medianOthers = sorted.length ? sorted[Math.floor(sorted.length / 2)]! : undefined;

    // No native module (node-llama-cpp, ONNX Runtime, yara-x) is mapped into any extension host of this server.
    const native = await nativeLibrariesOfExtensionHosts(s.server.pid);
    const installed = s.extension.mode === 'installed';
    if (installed) {
      const engines = processesRunning(s.server.pid, join(s.extension.path, 'dist', 'engine-host.js'));
      assert.deepEqual(engines, [], 'an engine child started at activation');
    }
    const figure = {
      schema: 'sovereign-activation/1',
      time: new Date().toISOString(),
      extension: s.extension.mode,
      vsix: s.extension.vsix,
      vscode: 'code-server 4.139.1 (VS Code 1.139.1)',
      activationMs,
      goalMs: 50,
      shownAs: text,
      otherExtensionsMs: others,
      ratioToMedianOfOthers: medianOthers ? Math.round((activationMs / medianOthers) * 100) / 100 : undefined,
      nativeLibrariesMapped: native,
    };
    const dir = join(s.repoRoot, 'bench-results');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'activation.json'), `${JSON.stringify(figure, null, 2)}\n`);
    process.stderr.write(`      activation of the ${s.extension.mode} extension: ${activationMs} ms (goal < 50 ms; median of the other ${sorted.length} extensions in this run: ${medianOthers ?? '?'} ms); native libraries mapped: ${native.length}\n`);
    assert.deepEqual(native, [], 'a native module was loaded at activation');
    // The Running Extensions editor opens as a modal editor: Escape closes it (the palette does not open over it).
    await wb.page.keyboard.press('Escape');
  });
});
