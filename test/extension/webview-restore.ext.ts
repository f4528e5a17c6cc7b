import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import { contentSecurityPolicy } from '../../src/extension/webviews/html';
import type { SovereignWebviews } from '../../src/extension/webviews';
import { READY } from '../../webview/shared/ipc';
import { VIEW_TYPES } from '../../webview/shared/view-state';
import { activatedExtension, closeAllEditors, waitFor, workbenchApi } from './support/vscode';

interface ApiShape {
  webviews: SovereignWebviews;
}

const SHOW: Record<string, string> = {
  [VIEW_TYPES.lineage]: 'sovereign.showLineage',
  [VIEW_TYPES.benchmarks]: 'sovereign.showBenchmarks',
  [VIEW_TYPES.policy]: 'sovereign.showPolicyViolations',
  [VIEW_TYPES.deployments]: 'sovereign.showDeployments',
  [VIEW_TYPES.tco]: 'sovereign.showTco',
  [VIEW_TYPES.playground]: 'sovereign.showPlayground',
};

/** What a lineage panel saved with setState before the reload (handed to the serializer, and to getState). */
const SAVED = { filter: 'tiny', selected: 'model:tiny-llama@1.0.0', zoom: 1.25, zoomedByUser: true, scrollLeft: 0, scrollTop: 0 };

function tabsOf(viewType: string): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && (t.input.viewType === viewType || t.input.viewType.endsWith(`-${viewType}`)));
}

/** The page's nonce, after checking the page carries exactly the policy every new panel gets. */
function nonceOf(webview: vscode.Webview): string {
  const html = webview.html;
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1]?.replace(/&#39;/g, "'").replace(/&amp;/g, '&');
  assert.ok(csp, 'the page carries a Content-Security-Policy');
  const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
  assert.ok(nonce, `a script nonce in ${csp}`);
  assert.equal(csp, contentSecurityPolicy(webview.cspSource, nonce));
  assert.doesNotMatch(csp, /unsafe-(eval|inline)/);
  assert.equal(html.match(/<script /g)?.length, 1, 'one script');
  assert.ok(html.includes(`<script nonce="${nonce}" src=`), 'the script carries the page nonce');
  return nonce;
}

/**
 * Panel restore after a window reload, in the real extension host. A reload cannot happen inside the
 * suite (it would end it), so the test does what VS Code does on reload: it creates a bare panel of the
 * view type and hands it, with a saved state, to the serializer the extension registered. The panel must
 * then load its real bundle in the workbench (the webview says `ready` to its host), and behave like one
 * opened by its Show command.
 */
describe('Sovereign: webview panels restored after a window reload', () => {
  let api: ApiShape;

  before(async () => {
    api = await workbenchApi<ApiShape>();
    await closeAllEditors();
  });
  afterEach(async () => {
    await closeAllEditors();
  });

  it('registers a panel serializer for each view type at activation, and the matching onWebviewPanel events', async () => {
    const extension = await activatedExtension();
    const events = (extension.packageJSON as { activationEvents: string[] }).activationEvents;
    for (const viewType of Object.values(VIEW_TYPES)) {
      assert.ok(events.includes(`onWebviewPanel:${viewType}`), `activation event for ${viewType}`);
      assert.equal(typeof api.webviews.serializers[viewType]?.deserializeWebviewPanel, 'function');
      // VS Code keeps one serializer per view type: a second registration is refused when ours is there.
      let duplicate: vscode.Disposable | undefined;
      assert.throws(() => {
        duplicate = vscode.window.registerWebviewPanelSerializer(viewType, { deserializeWebviewPanel: async () => undefined });
      }, `a serializer for ${viewType} is registered`);
      duplicate?.dispose();
    }
  });

  for (const viewType of Object.values(VIEW_TYPES)) {
    it(`${viewType}: a restored panel is wired like a new one (CSP, options, ready handshake) and Show reveals it`, async function () {
      this.timeout(90_000);
      // What VS Code hands the serializer: a panel of the view type, with whatever options were saved.
      const panel = vscode.window.createWebviewPanel(viewType, 'restored', vscode.ViewColumn.One, {});
      const received: unknown[] = [];
      const listening = panel.webview.onDidReceiveMessage((m: unknown) => received.push(m));
      try {
        await api.webviews.serializers[viewType].deserializeWebviewPanel(panel, viewType === VIEW_TYPES.lineage ? SAVED : undefined);

        const nonce = nonceOf(panel.webview);
        const options = panel.webview.options;
        assert.equal(options.enableScripts, true);
        assert.deepEqual(
          (options.localResourceRoots ?? []).map((u) => u.path.split('/').pop()),
          ['dist', 'media'],
        );
        assert.notEqual(panel.title, 'restored', 'the view sets its own title');

        // The real bundle ran in the workbench under that CSP and said ready; the host's gate opened.
        await waitFor(() => received.some((m) => (m as { kind?: string; method?: string }).kind === 'notification' && (m as { method?: string }).method === READY), `${viewType}: ipc/ready from the restored webview`, 60_000);
        const held = await waitFor(() => api.webviews.open(viewType), `${viewType}: the restored panel held by the extension`);
        assert.equal(held.panel, panel);
        await waitFor(() => held.ready, `${viewType}: the host saw the ready handshake`);

        // One panel per view: Show reveals the restored panel instead of opening a second one.
        await vscode.commands.executeCommand(SHOW[viewType]);
        assert.equal(api.webviews.open(viewType)?.panel, panel);
        await waitFor(() => (tabsOf(viewType).length === 1 ? true : undefined), `${viewType}: a single tab after Show`);

        // A second restored panel of the same view (e.g. a stale tab shown later) is closed, not kept.
        const duplicate = vscode.window.createWebviewPanel(viewType, 'duplicate', vscode.ViewColumn.One, {});
        let duplicateClosed = false;
        duplicate.onDidDispose(() => (duplicateClosed = true));
        // VS Code hands a restored panel over once it is shown (closing one still opening logs workbench errors).
        await waitFor(() => duplicate.visible, 'the duplicate panel shown');
        await api.webviews.serializers[viewType].deserializeWebviewPanel(duplicate, undefined);
        assert.equal(duplicateClosed, true);
        assert.equal(api.webviews.open(viewType)?.panel, panel);
        await waitFor(() => (tabsOf(viewType).length === 1 ? true : undefined), `${viewType}: the duplicate's tab closed`);

        // Disposal is wired: closing the restored panel frees the view; Show opens a fresh one (new nonce).
        panel.dispose();
        assert.equal(api.webviews.open(viewType), undefined);
        await waitFor(() => (tabsOf(viewType).length === 0 ? true : undefined), `${viewType}: the panel's tab closed`);
        await vscode.commands.executeCommand(SHOW[viewType]);
        const fresh = await waitFor(() => api.webviews.open(viewType), `${viewType}: a new panel from Show`);
        assert.notEqual(fresh.panel, panel);
        assert.notEqual(nonceOf(fresh.panel.webview), nonce, 'a fresh nonce per page');
        await waitFor(() => fresh.visible, 'the new panel shown');
        fresh.dispose();
      } finally {
        listening.dispose();
        panel.dispose();
      }
    });
  }

  it('never throws into VS Code: a panel already gone when it is restored is skipped, and Show still works', async () => {
    const viewType = VIEW_TYPES.policy;
    const gone = vscode.window.createWebviewPanel(viewType, 'gone', vscode.ViewColumn.One, {});
    await waitFor(() => gone.visible, 'the panel shown');
    gone.dispose();
    await api.webviews.serializers[viewType].deserializeWebviewPanel(gone, { collapsed: 'not a list', showWaived: 'no' });
    assert.equal(api.webviews.open(viewType), undefined);
    await vscode.commands.executeCommand(SHOW[viewType]);
    const opened = await waitFor(() => api.webviews.open(viewType), 'the policy panel from Show');
    await waitFor(() => opened.visible, 'the policy panel shown');
    opened.dispose();
  });
});
