import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import { activatedExtension, closeAllEditors, waitFor } from './support/vscode';

interface GpuSetup {
  detection: { platform: string; arch: string; installed: string[]; nodeLlamaCpp?: string };
  advice: { backend: string; status: string; summary: string; packages: string[]; command?: string };
  document: string;
}

describe('Sovereign: Set Up GPU Acceleration', () => {
  before(() => activatedExtension());
  after(() => closeAllEditors());

  it('detects the GPU, and shows what to install (or that the CPU build runs) in a Markdown document', async () => {
    const result = await vscode.commands.executeCommand<GpuSetup | undefined>('sovereign.setupGpu');
    assert.ok(result, 'the command returned its detection and advice');
    assert.equal(result.detection.platform, process.platform);
    assert.equal(result.detection.arch, process.arch);
    // The builds it counts are those beside the extension's node-llama-cpp (this checkout's node_modules).
    const manifest = (await activatedExtension()).packageJSON as { dependencies: Record<string, string> };
    assert.equal(result.detection.nodeLlamaCpp, manifest.dependencies['node-llama-cpp']);
    assert.ok(result.detection.installed.length > 0, 'at least the CPU build of llama.cpp is installed');
    assert.ok(['ready', 'install', 'no-gpu', 'unsupported'].includes(result.advice.status), result.advice.status);
    if (result.advice.status === 'install') assert.match(result.advice.command ?? '', /^npm install .*@node-llama-cpp\/\S+@\d/);
    const doc = await waitFor(() => vscode.workspace.textDocuments.find((d) => d.uri.toString() === result.document), 'the GPU set-up document');
    assert.equal(doc.languageId, 'markdown');
    assert.ok(doc.getText().includes(result.advice.summary), 'the document says what the advice says');
    assert.match(doc.getText(), /^# GPU acceleration for local models/);
  });
});
