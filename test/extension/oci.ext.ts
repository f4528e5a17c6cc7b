import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { writeMlpClassifier } from '../fixtures/onnx';
import { startRegistry, type TestRegistry } from '../core/oci/registry-server';
import { activatedExtension, ensureGitIdentity, executeDismissingNotifications, workbenchApi } from './support/vscode';

/** Push and pull through the palette commands in the real extension host, against a real registry and a layout folder. */
describe('Sovereign: Push / Pull Model to/from an OCI registry in the extension host', () => {
  let dir: string;
  let reg: TestRegistry;

  before(async () => {
    await activatedExtension();
    dir = await mkdtemp(join(tmpdir(), 'sovereign-ext-oci-'));
    reg = await startRegistry(join(dir, 'registry'));
    const root = vscode.workspace.workspaceFolders![0].uri.fsPath;
    ensureGitIdentity(root);
    const model = join(dir, 'ext-oci.onnx');
    await writeMlpClassifier(model, { seed: 11 });
    const added = await executeDismissingNotifications<{ manifestFile: string } | undefined>('sovereign.registerModel', vscode.Uri.file(model), {
      name: 'ext-oci',
      version: '1.0.0',
      license: 'MIT',
      source: 'https://example.invalid/ext-oci',
    });
    assert.ok(added, 'registered');
  });
  after(async () => {
    await reg?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('pushes a version to the registry and to a layout folder; pulling it back is recognised as already registered', async () => {
    const pushed = await executeDismissingNotifications<{ digest: string; target: string } | undefined>('sovereign.pushModelToOci', 'ext-oci@1.0.0', `oci://${reg.host}/ext/oci`);
    assert.ok(pushed, 'the push command returned its result');
    assert.equal(pushed.target, `oci://${reg.host}/ext/oci:1.0.0`);
    const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/ext/oci:1.0.0`], { encoding: 'utf8' });
    assert.equal(`sha256:${createHash('sha256').update(raw).digest('hex')}`, pushed.digest);
    const layout = join(dir, 'layout');
    const toDir = await executeDismissingNotifications<{ digest: string } | undefined>('sovereign.pushModelToOci', 'ext-oci@1.0.0', `oci:${layout}`);
    assert.equal(toDir?.digest, pushed.digest);
    assert.ok(existsSync(join(layout, 'oci-layout')));
    const pulled = await executeDismissingNotifications<{ alreadyRegistered: boolean; model: string } | undefined>('sovereign.pullModelFromOci', `oci://${reg.host}/ext/oci@${pushed.digest}`);
    assert.deepEqual({ model: pulled?.model, already: pulled?.alreadyRegistered }, { model: 'ext-oci@1.0.0', already: true });
    // The Models view's snapshot says where the version is published.
    const api = await workbenchApi<{ registry: { refresh(): Promise<{ versions: { name: string; published?: { target: string; digest: string }[] }[] } | undefined> } }>();
    const published = (await api.registry.refresh())?.versions.find((v) => v.name === 'ext-oci')?.published ?? [];
    assert.deepEqual(published.map((p) => p.target).sort(), [`oci:${layout}:1.0.0`, `oci://${reg.host}/ext/oci:1.0.0`].sort());
    assert.ok(published.every((p) => p.digest === pushed.digest));
  });
});
