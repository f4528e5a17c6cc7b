import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { writeTinyLlama } from '../fixtures/gguf/tiny-llama';
import { writeMlpClassifier } from '../fixtures/onnx';
import { activatedExtension, closeAllEditors, executeDismissingNotifications, waitForEditorWith } from './support/vscode';

describe('Sovereign: Scan Model / Inspect Model in the extension host', () => {
  let dir: string;
  let gguf: string;
  let onnxModel: string;

  before(async () => {
    await activatedExtension();
    dir = await mkdtemp(join(tmpdir(), 'sovereign-ext-'));
    gguf = (await writeTinyLlama(join(dir, 'tiny-llama.gguf'), { f16: true })).path;
    onnxModel = join(dir, 'fraud.onnx');
    await writeMlpClassifier(onnxModel);
  });
  after(async () => {
    await closeAllEditors();
    await rm(dir, { recursive: true, force: true });
  });

  it('inspects a generated GGUF model and shows its facts in an editor', async () => {
    await closeAllEditors();
    await vscode.commands.executeCommand('sovereign.inspectModel', vscode.Uri.file(gguf));
    const editor = await waitForEditorWith(/format: gguf/, 'the inspect report of the GGUF model');
    const text = editor.document.getText();
    assert.ok(text.startsWith(gguf), 'the report starts with the file path');
    assert.match(text, /architecture: llama/);
  });

  it('inspects a generated ONNX classifier', async () => {
    await closeAllEditors();
    await vscode.commands.executeCommand('sovereign.inspectModel', vscode.Uri.file(onnxModel));
    const editor = await waitForEditorWith(/format: onnx/, 'the inspect report of the ONNX model');
    assert.ok(editor.document.getText().startsWith(onnxModel));
  });

  it('scans a folder of models through the core worker and completes', async () => {
    const started = Date.now();
    await executeDismissingNotifications('sovereign.scanModel', vscode.Uri.file(dir));
    // The command resolves only after the worker answered and the summary notification closed.
    assert.ok(Date.now() - started < 30_000);
  });
});
