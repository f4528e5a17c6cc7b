import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { writeMlpClassifier } from '../fixtures/onnx';
import { writeHubFolder } from '../fixtures/safetensors/hub-folder';
import { activatedExtension, executeDismissingNotifications, waitFor, workbenchApi, ensureGitIdentity } from './support/vscode';

interface ApiShape {
  registry: { refresh(): Promise<{ versions: { name: string; version: string }[] } | undefined> };
}

/** Registry and policy through the real extension host: a model registered by the command, diagnostics on a manifest. */
describe('Sovereign: registry and policy in the extension host', () => {
  let dir: string;
  let root: string;

  before(async () => {
    await activatedExtension();
    dir = await mkdtemp(join(tmpdir(), 'sovereign-ext-reg-'));
    root = vscode.workspace.workspaceFolders![0].uri.fsPath;
    ensureGitIdentity(root);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('registers a model through the command: scanned, stored, manifest committed, shown in the Models view', async () => {
    const model = join(dir, 'ext-classifier.onnx');
    await writeMlpClassifier(model, { seed: 7 });
    const result = await executeDismissingNotifications<{ manifestFile: string; commit: string } | undefined>('sovereign.registerModel', vscode.Uri.file(model), {
      name: 'ext-classifier',
      version: '1.0.0',
      license: 'MIT',
      source: 'https://example.invalid/ext-classifier',
    });
    assert.ok(result, 'the command returned a registration result');
    assert.equal(result.manifestFile, '.sovereign/models/ext-classifier/1.0.0.yaml');
    const manifest = await readFile(join(root, result.manifestFile), 'utf8');
    assert.match(manifest, /format: onnx/);
    assert.match(manifest, /sha256: [0-9a-f]{64}/);
    const subject = execFileSync('git', ['log', '-1', '--format=%s', result.commit], { cwd: root, encoding: 'utf8' });
    assert.match(subject, /^registry: add ext-classifier@1\.0\.0/);
    const api = await workbenchApi<ApiShape>();
    await waitFor(async () => ((await api.registry.refresh())?.versions.some((v) => v.name === 'ext-classifier') ? true : undefined), 'the new version in the registry snapshot');
  });

  it('registers a Hugging Face-style folder through the command: one version, licence and base model from its model card', async () => {
    const folder = join(dir, 'ext-hub-model');
    await writeHubFolder(folder);
    const result = await executeDismissingNotifications<{ manifestFile: string; provenance?: { from_model_card?: string[] } } | undefined>('sovereign.registerModel', vscode.Uri.file(folder), {
      name: 'ext-hub',
      version: '1.0.0',
      source: 'https://huggingface.co/example/ext-hub', // the demo policy requires a source; the licence comes from the card
    });
    assert.ok(result, 'the command returned a registration result');
    assert.deepEqual(result.provenance?.from_model_card, ['license', 'datasets', 'base_model']);
    const manifest = await readFile(join(root, result.manifestFile), 'utf8');
    assert.match(manifest, /^license: apache-2\.0$/m);
    assert.match(manifest, /path: model-00002-of-00002\.safetensors/);
    assert.match(manifest, /path: README\.md/);
  });

  it('shows a policy diagnostic on a manifest that breaks the policy, at the offending line', async () => {
    const rel = '.sovereign/models/ext-classifier/1.0.0.yaml';
    const file = join(root, rel);
    const original = await readFile(file, 'utf8');
    try {
      await writeFile(file, original.replace(/^license: .*$/m, 'license: 42'));
      const uri = vscode.Uri.file(file);
      const diags = await waitFor(() => {
        const d = vscode.languages.getDiagnostics(uri).filter((x) => x.source === 'sovereign-policy');
        return d.length ? d : undefined;
      }, 'a sovereign-policy diagnostic on the edited manifest', 30_000);
      const line = original.split('\n').findIndex((l) => l.startsWith('license:'));
      assert.ok(diags.some((d) => d.range.start.line === line), `a diagnostic on line ${line + 1}: ${diags.map((d) => `${d.range.start.line + 1}: ${d.message}`).join('; ')}`);
    } finally {
      await writeFile(file, original);
    }
  });
});
