import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { writeMlpClassifier } from '../fixtures/onnx';
import { sleep, waitFor, workbenchApi } from '../extension/support/vscode';

interface TreeNode {
  kind: 'folder' | 'model' | 'version';
  root: string;
  name?: string;
  version?: { name: string; version: string; file: string };
}
interface ApiShape {
  registry: {
    refresh(): Promise<unknown>;
    /** The focused registry's snapshot (what the lineage and policy views show). */
    snapshot?: { root: string };
    all: readonly { workspace: { root: string; name: string }; snapshot: { root: string; versions: { name: string; version: string }[] } }[];
  };
  models: { getChildren(element?: TreeNode): Promise<TreeNode[]>; getTreeItem(node: TreeNode): vscode.TreeItem };
  webviews: { open(viewType: string): { ready: boolean; serveRequest(method: string, params: unknown): Promise<{ ok: boolean; error?: { message: string } }> } | undefined };
}

const MANIFEST = (model: string): string => `.sovereign/models/${model}/1.0.0.yaml`;

/**
 * A multi-root window (scripts/e2e/multi-root-workspace.ts): folders alpha and beta, each a git repository with
 * its own registry, policy and registered model; gamma, governed too, beside them, added at run time.
 */
describe('Sovereign in a multi-root workspace (two registries)', () => {
  let api: ApiShape;
  let dir: string;
  let alpha: string;
  let beta: string;
  let gamma: string;
  let scratch: string;

  before(async () => {
    const file = vscode.workspace.workspaceFile;
    assert.ok(file && file.scheme === 'file', 'this suite runs in the multi-root workspace file that test/e2e/extension-host.e2e.ts opens');
    dir = realpathSync(dirname(file.fsPath));
    [alpha, beta, gamma] = ['alpha', 'beta', 'gamma'].map((n) => join(dir, n));
    // The web workbench may start the extension host before it has resolved the workspace file's folders (seen on
    // a loaded machine): wait for them rather than testing an empty window.
    await waitFor(() => (vscode.workspace.workspaceFolders?.length ?? 0) >= 2 || undefined, "the workspace file's two folders", 60_000);
    api = await workbenchApi<ApiShape>();
    scratch = await mkdtemp(join(tmpdir(), 'sovereign-ext-multiroot-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  const served = async (): Promise<string[][]> => {
    await api.registry.refresh();
    return api.registry.all.map((r) => [basename(r.workspace.root), r.workspace.name, ...r.snapshot.versions.map((v) => `${v.name}@${v.version}`)]);
  };

  it('serves every folder that holds a registry, each with its own models', async () => {
    assert.deepEqual(
      vscode.workspace.workspaceFolders?.map((f) => f.name),
      ['alpha', 'beta'],
    );
    assert.deepEqual(await served(), [
      ['alpha', 'alpha', 'alpha-classifier@1.0.0'],
      ['beta', 'beta', 'beta-classifier@1.0.0'],
    ]);
    assert.deepEqual(api.registry.all.map((r) => r.snapshot.root), [alpha, beta]);
  });

  it('groups the Models view by folder, each model under its own registry', async () => {
    const folders = await api.models.getChildren();
    assert.deepEqual(folders.map((n) => [n.kind, n.name, n.root]), [
      ['folder', 'alpha', alpha],
      ['folder', 'beta', beta],
    ]);
    for (const folder of folders) {
      const item = api.models.getTreeItem(folder);
      assert.equal(item.label, folder.name);
      assert.equal(item.contextValue, 'sovereign.registry');
      const models = await api.models.getChildren(folder);
      assert.deepEqual(models.map((m) => [m.kind, m.name, m.root]), [['model', `${folder.name}-classifier`, folder.root]]);
      const [version] = await api.models.getChildren(models[0]);
      const open = api.models.getTreeItem(version).command;
      assert.equal(open?.command, 'vscode.open');
      assert.equal((open?.arguments?.[0] as vscode.Uri).fsPath, join(folder.root, MANIFEST(`${folder.name}-classifier`)), 'the manifest opened is the one in its own folder');
    }
  });

  it("applies each folder's own policy to its own files: beta's licence rule flags beta's manifest, not alpha's", async () => {
    const betaManifest = vscode.Uri.file(join(beta, MANIFEST('beta-classifier')));
    const alphaManifest = vscode.Uri.file(join(alpha, MANIFEST('alpha-classifier')));
    const diags = await waitFor(() => {
      const d = vscode.languages.getDiagnostics(betaManifest).filter((x) => x.source === 'sovereign-policy' && x.code === 'license');
      return d.length ? d : undefined;
    }, "a licence diagnostic on beta's manifest", 30_000);
    assert.match(diags[0].message, /license "MIT" is not on the allowlist \(apache-2\.0\)/);
    // Both models are MIT: alpha's policy (the default licences) accepts it, so alpha's manifest has no licence problem.
    assert.deepEqual(vscode.languages.getDiagnostics(alphaManifest).filter((x) => x.code === 'license'), []);
  });

  it('takes the registry from the selected tree item (Verify Model on a version of beta)', async () => {
    const folders = await api.models.getChildren();
    const betaFolder = folders.find((f) => f.name === 'beta')!;
    const [model] = await api.models.getChildren(betaFolder);
    const [version] = await api.models.getChildren(model);
    const result = await vscode.commands.executeCommand<{ root: string; ref: string; ok: boolean; artifacts: { status: string }[] }>('sovereign.verifyModel', version);
    assert.ok(result, 'Verify Model returned its verification');
    assert.equal(result.root, beta);
    assert.equal(result.ref, 'beta-classifier@1.0.0');
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.deepEqual(result.artifacts.map((a) => a.status), ['ok']);
  });

  it("shows the policy violations of the folder a tree item names, and opens that folder's files from it", async () => {
    const folders = await api.models.getChildren();
    const byName = (name: string): TreeNode => folders.find((f) => f.name === name)!;
    const manifest = MANIFEST('beta-classifier');
    await vscode.commands.executeCommand('sovereign.showPolicyViolations', byName('beta'));
    assert.equal(api.registry.snapshot?.root, beta);
    const panel = await waitFor(() => api.webviews.open('sovereign.policyViolations'), 'the policy violations view');
    // Loaded before it is closed again: a webview torn down while its resources load asks the network for them.
    await waitFor(() => (panel.ready ? true : undefined), 'the policy violations view ready', 60_000);
    const opened = await panel.serveRequest('openLocation', { file: manifest, line: 8, column: 10 });
    assert.equal(opened.ok, true, JSON.stringify(opened));
    await waitFor(() => (vscode.window.activeTextEditor?.document.uri.fsPath === join(beta, manifest) ? true : undefined), "beta's manifest in the editor");
    // The same view on alpha: beta's manifest is not part of alpha's report (alpha's policy has no licence rule).
    await vscode.commands.executeCommand('sovereign.showPolicyViolations', byName('alpha'));
    assert.equal(api.registry.snapshot?.root, alpha);
    const refused = await panel.serveRequest('openLocation', { file: manifest, line: 8, column: 10 });
    assert.equal(refused.ok, false);
    assert.match(refused.error?.message ?? '', /not part of the policy report/);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('asks which folder when a model file lies outside every folder, and registers it in the folder picked', async () => {
    const model = join(scratch, 'picked.onnx');
    await writeMlpClassifier(model, { seed: 23 });
    let settled = false;
    const registration = Promise.resolve(
      vscode.commands.executeCommand<{ manifestFile: string; commit: string } | undefined>('sovereign.registerModel', vscode.Uri.file(model), {
        name: 'picked-classifier',
        version: '1.0.0',
        // beta's policy admits Apache-2.0 only
        license: 'Apache-2.0',
        source: 'https://example.invalid/picked-classifier',
      }),
    ).finally(() => (settled = true));
    // The QuickPick lists alpha then beta: move to the second item and accept it, as a person would; then
    // dismiss the notification the command ends with.
    await sleep(1000);
    for (let picked = false; !settled; await sleep(500)) {
      if (!picked) {
        await vscode.commands.executeCommand('workbench.action.quickOpenSelectNext');
        await sleep(150);
        await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
        picked = true;
      }
      await vscode.commands.executeCommand('notifications.clearAll');
    }
    const result = await registration;
    assert.ok(result, 'the command returned a registration result');
    assert.equal(result.manifestFile, MANIFEST('picked-classifier'));
    const subject = execFileSync('git', ['log', '-1', '--format=%s', result.commit], { cwd: beta, encoding: 'utf8' });
    assert.match(subject, /^registry: add picked-classifier@1\.0\.0/);
    assert.throws(() => execFileSync('git', ['cat-file', '-e', result.commit], { cwd: alpha, stdio: 'ignore' }), 'the commit is not in alpha');
    assert.deepEqual((await served()).map((r) => r.slice(2)), [['alpha-classifier@1.0.0'], ['beta-classifier@1.0.0', 'picked-classifier@1.0.0']]);
  });

  it('serves a folder added at run time, and stops serving it once removed', async () => {
    // One folder change at a time: VS Code refuses another until onDidChangeWorkspaceFolders has fired.
    const changed = (): Promise<vscode.WorkspaceFoldersChangeEvent> => new Promise((done) => { const sub = vscode.workspace.onDidChangeWorkspaceFolders((e) => (sub.dispose(), done(e))); });
    const count = vscode.workspace.workspaceFolders?.length ?? 0;
    const added = changed();
    assert.ok(vscode.workspace.updateWorkspaceFolders(count, 0, { uri: vscode.Uri.file(gamma) }), 'the folder was accepted');
    assert.deepEqual((await added).added.map((f) => f.uri.fsPath), [gamma]);
    await waitFor(async () => (await served()).some((r) => r[0] === 'gamma'), 'gamma served after it was added', 30_000);
    assert.deepEqual((await api.models.getChildren()).map((n) => n.name), ['alpha', 'beta', 'gamma']);
    assert.deepEqual((await served()).find((r) => r[0] === 'gamma'), ['gamma', 'gamma', 'gamma-classifier@1.0.0']);
    const index = vscode.workspace.workspaceFolders!.findIndex((f) => f.uri.fsPath === gamma);
    assert.ok(index >= 0, `gamma among the folders: ${vscode.workspace.workspaceFolders!.map((f) => f.uri.fsPath).join(', ')}`);
    const removed = changed();
    assert.ok(vscode.workspace.updateWorkspaceFolders(index, 1), 'the folder was removed');
    assert.deepEqual((await removed).removed.map((f) => f.uri.fsPath), [gamma]);
    await waitFor(async () => ((await served()).some((r) => r[0] === 'gamma') ? undefined : true), 'gamma no longer served after it was removed', 30_000);
    assert.deepEqual((await api.models.getChildren()).map((n) => n.name), ['alpha', 'beta']);
  });
});
