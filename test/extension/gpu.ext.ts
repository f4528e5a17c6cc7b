import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { writeTinyLlama } from '../fixtures/gguf/tiny-llama';
import { activatedExtension, closeAllEditors, waitFor, workbenchApi } from './support/vscode';

interface EngineShape {
  process: { stats: { backend?: { gpu: string | false; gpuLayers?: number; totalLayers?: number; llamaCpp?: 'prebuilt' | 'native' } } };
}
interface EnginesApi {
  engines: { start(model: string): Promise<string>; stop(model: string): Promise<void>; get(model: string): EngineShape | undefined };
  enginesView: { getTreeItem(engine: EngineShape): vscode.TreeItem };
}

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

describe('Sovereign: the Local Engines view says where a model runs', () => {
  let dir: string;
  let model: string;
  let api: EnginesApi;

  before(async () => {
    api = await workbenchApi<EnginesApi>();
    dir = await mkdtemp(join(tmpdir(), 'sovereign-ext-engines-'));
    model = (await writeTinyLlama(join(dir, 'tiny.gguf'))).path;
  });
  after(async () => {
    await api?.engines.stop(model);
    await rm(dir, { recursive: true, force: true });
  });

  it('shows the llama.cpp backend and the layers offloaded of a running GGUF model', async function () {
    this.timeout(120_000);
    const url = await api.engines.start(model);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const engine = api.engines.get(model);
    assert.ok(engine, 'the engine is listed');
    const backend = engine.process.stats.backend;
    assert.ok(backend, 'the backend came with the ready line of its sovereign serve child');
    // What the model loaded on, as /v1/models says it too (the serving runtime's own description).
    const meta = ((await (await fetch(`${url}/v1/models`)).json()) as { data: { meta: { gpu: string | false; gpu_layers: number; total_layers: number; llama_cpp: 'prebuilt' | 'native' } }[] }).data[0].meta;
    assert.deepEqual([backend.gpu, backend.gpuLayers, backend.totalLayers, backend.llamaCpp], [meta.gpu, meta.gpu_layers, meta.total_layers, meta.llama_cpp]);
    const item = api.enginesView.getTreeItem(engine);
    const tooltip = (item.tooltip as vscode.MarkdownString).value;
    // Which llama.cpp runs it (node-llama-cpp's prebuilt binary unless a native build exists: docs/engines.md).
    assert.ok(tooltip.includes(meta.llama_cpp === 'native' ? 'llama.cpp: native build for this machine' : 'llama.cpp: prebuilt (node-llama-cpp)'), tooltip);
    if (backend.gpu === false) {
      // This machine's CPU build: nothing offloaded.
      assert.match(String(item.description), /^ready · .*\bcpu\b/);
      assert.ok(tooltip.includes(`backend cpu, 0/${meta.total_layers} layers offloaded`), tooltip);
    } else {
      assert.ok(String(item.description).includes(`${backend.gpu} ${backend.gpuLayers}/${backend.totalLayers} layers`), String(item.description));
      assert.ok(tooltip.includes(`backend ${backend.gpu}, ${backend.gpuLayers}/${backend.totalLayers} layers offloaded`), tooltip);
    }
  });
});
