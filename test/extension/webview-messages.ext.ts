import { strict as assert } from 'node:assert';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { SovereignWebviews } from '../../src/extension/webviews';
import { VIEW_TYPES } from '../../webview/shared/view-state';
import { writeMlpClassifier } from '../fixtures/onnx';
import { closeAllEditors, ensureGitIdentity, executeDismissingNotifications, waitFor, workbenchApi } from './support/vscode';

interface ApiShape {
  webviews: SovereignWebviews;
  registry: { refresh(): Promise<{ versions: { name: string; version: string }[] } | undefined> };
}

/**
 * Requests from a webview, as a compromised one would send them, answered by the real host of the policy
 * panel (`serveRequest`: the same lookup, params schema and handler as a posted message). Signing asked for
 * by the webview needs a modal confirmation naming the version and the key; the test runner refuses every
 * modal dialog (VS Code's DialogService in extension tests: "refused to show dialog in tests. Contents:
 * <message>"), which is what a person pressing Cancel leads to: nothing is signed.
 */
describe('Sovereign: webview messages are checked by the host; signing from a webview asks first', () => {
  let api: ApiShape;
  let dir: string;
  let root: string;
  let git: (...args: string[]) => string;

  before(async function () {
    this.timeout(120_000);
    api = await workbenchApi<ApiShape>();
    root = vscode.workspace.workspaceFolders![0].uri.fsPath;
    dir = await mkdtemp(join(tmpdir(), 'sovereign-ext-msg-'));
    git = ensureGitIdentity(root);
    const model = join(dir, 'ext-signing.onnx');
    await writeMlpClassifier(model, { seed: 11 });
    await executeDismissingNotifications('sovereign.registerModel', vscode.Uri.file(model), { name: 'ext-signing', version: '1.0.0', license: 'MIT', source: 'https://example.invalid/ext-signing' });
    await waitFor(async () => ((await api.registry.refresh())?.versions.some((v) => v.name === 'ext-signing') ? true : undefined), 'ext-signing@1.0.0 in the registry snapshot');
    await closeAllEditors();
  });
  after(async () => {
    await closeAllEditors();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers Object.prototype names as unknown methods and malformed params as invalid, running no handler', async () => {
    await vscode.commands.executeCommand('sovereign.showPolicyViolations');
    const panel = await waitFor(() => api.webviews.open(VIEW_TYPES.policy), 'the policy panel');
    // Its page loads its resources through the workbench's service worker: closing it before it says ready
    // races that load (a request escaping to the resource host).
    await waitFor(() => panel.ready, 'the policy webview said ready', 60_000);
    for (const method of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      const reply = await panel.serveRequest(method, { model: 'ext-signing', version: '1.0.0' });
      assert.ok(!reply.ok && reply.error.code === 'method-not-found' && reply.error.message.includes(`"${method}"`), `${method}: ${JSON.stringify(reply)}`);
    }
    const head = git('rev-parse', 'HEAD').trim();
    for (const params of [{ model: 'ext-signing', version: ['1.0.0'] }, { model: 'ext-signing' }, 'ext-signing@1.0.0', { model: 'ext-signing', version: '1.0.0', key: '/tmp/k.pem' }]) {
      const reply = await panel.serveRequest('signModel', params);
      assert.ok(!reply.ok && reply.error.code === 'invalid-params' && reply.error.message.startsWith('invalid params for "signModel": params'), `${JSON.stringify(params)}: ${JSON.stringify(reply)}`);
    }
    const unknown = await panel.serveRequest('signModel', { model: 'ext-signing', version: '9.9.9' });
    assert.ok(!unknown.ok && /ext-signing@9\.9\.9 is not a registered version/.test(unknown.error.message), JSON.stringify(unknown));
    assert.equal(git('rev-parse', 'HEAD').trim(), head, 'nothing was committed');
  });

  it('signModel from the webview asks for confirmation naming the version and the key; not confirmed, nothing is signed', async function () {
    this.timeout(60_000);
    // A signing key in SecretStorage: generated here, or the one a previous suite stored (then the
    // command's "Replace?" modal is refused by the test runner and the key stays).
    const keysDir = join(root, '.sovereign', 'keys');
    const before = new Set(await readdir(keysDir).catch(() => [] as string[]));
    await Promise.resolve(vscode.commands.executeCommand('sovereign.generateSigningKey')).catch(() => undefined);
    const added = (await readdir(keysDir).catch(() => [] as string[])).filter((f) => !before.has(f) && f.endsWith('.pub.pem'));
    const keyId = added.length === 1 ? added[0].slice(0, 16) : '[0-9a-f]{16}';

    await vscode.commands.executeCommand('sovereign.showPolicyViolations');
    const panel = await waitFor(() => api.webviews.open(VIEW_TYPES.policy), 'the policy panel');
    // Its page loads its resources through the workbench's service worker: closing it before it says ready
    // races that load (a request escaping to the resource host).
    await waitFor(() => panel.ready, 'the policy webview said ready', 60_000);
    const manifest = join(root, '.sovereign', 'models', 'ext-signing', '1.0.0.yaml');
    const manifestBefore = await readFile(manifest, 'utf8');
    const head = git('rev-parse', 'HEAD').trim();

    const reply = await panel.serveRequest('signModel', { model: 'ext-signing', version: '1.0.0' });
    assert.ok(!reply.ok, `signing must not go ahead unconfirmed: ${JSON.stringify(reply)}`);
    assert.equal(reply.error.code, 'cancelled', JSON.stringify(reply));
    assert.match(reply.error.message, /^signing ext-signing@1\.0\.0 was not confirmed/);
    // The modal's text, as the test runner's refusal quotes it: the version and the key are named.
    assert.match(reply.error.message, new RegExp(`Sign ext-signing@1\\.0\\.0 with signing key ${keyId}\\?`), reply.error.message);
    assert.equal(git('rev-parse', 'HEAD').trim(), head, 'nothing was committed');
    assert.equal(await readFile(manifest, 'utf8'), manifestBefore, 'the manifest is unchanged');
  });
});
