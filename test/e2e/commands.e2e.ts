import { strict as assert } from 'node:assert';
import { session } from './support/session';
import { paletteCommands, paletteLabel, Workbench } from './support/workbench';

describe('Sovereign commands through the real workbench UI', () => {
  let wb: Workbench;
  before(async () => {
    wb = await Workbench.open();
  });
  after(async () => {
    await wb.close();
  });

  it('lists every contributed command in the command palette', async () => {
    const expected = paletteCommands().map(paletteLabel);
    assert.ok(expected.length > 0);
    // The palette fills as the extension registers: wait until all are there.
    let missing = expected;
    for (let attempt = 0; attempt < 10 && missing.length > 0; attempt++) {
      const listed = await wb.paletteHas(missing);
      missing = missing.filter((label) => !listed.has(label));
      if (missing.length) await wb.page.waitForTimeout(1000);
    }
    assert.deepEqual(missing, [], 'contributed commands missing from the command palette');
  });

  it('Scan Model... scans a model picked by path and offers the report', async () => {
    const model = session().workspace.ggufModel;
    await wb.runCommand('Sovereign: Scan Model...');
    await wb.answerQuickInput(model, 'Scan Model');
    const summary = /1 file\(s\) scanned/;
    await wb.waitForNotification(summary);
    await wb.screenshot('scan-model-notification');
    await wb.clickNotificationButton(summary, 'Show Report');
    await assertEventually(async () => {
      const text = await wb.activeEditorText();
      assert.ok(text.includes('tiny-llama.gguf') && /file\(s\) scanned/.test(text), text);
    });
  });

  it('Inspect Model... shows the facts of the ONNX classifier', async () => {
    await wb.runCommand('Sovereign: Inspect Model...');
    await wb.answerQuickInput(session().workspace.onnxModel, 'Inspect Model');
    await assertEventually(async () => {
      const text = await wb.activeEditorText();
      assert.match(text, /format: onnx/);
    });
  });
});

async function assertEventually(check: () => Promise<void>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((done) => setTimeout(done, 300));
    }
  }
}
