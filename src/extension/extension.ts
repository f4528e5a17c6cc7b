import * as vscode from 'vscode';
import { access } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LazyTree, type LazyTreeView, type Shell, type SovereignActivation } from './lazy';
import type * as Workbench from './main';
import type { SovereignApi } from './main';

export type { SovereignApi } from './main';

/** The workbench's bundle (esbuild.mjs), next to this one: loaded on first use. */
const WORKBENCH_BUNDLE = ['dist', 'extension-main.js'];

interface Contributions {
  activationEvents?: string[];
  contributes?: { commands?: Array<{ command: string }> };
}

/**
 * Activation is a shell: it loads `vscode` and this file's few stand-ins, nothing else (no core module, no
 * dependency, no native module). Every contributed command, the three tree views, the webview panel
 * serializers and the inline completion provider are registered as stand-ins that load the workbench
 * (`main.ts`, its own bundle) on first use and hand the call on. A folder that holds a `.sovereign/`
 * registry loads it at once, after activation has returned: the Models view and the policy diagnostics are
 * there from the start. The extension's API is `api()`, which loads the workbench if needed.
 */
export function activate(context: vscode.ExtensionContext): SovereignActivation<SovereignApi> {
  const manifest = context.extension.packageJSON as Contributions;
  const standIns: vscode.Disposable[] = [];
  let api: SovereignApi | undefined;
  let loading: Promise<SovereignApi> | undefined;

  const load = (reason: string): Promise<SovereignApi> => {
    loading ??= new Promise<SovereignApi>((resolve) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const workbench = require(join(context.extensionPath, ...WORKBENCH_BUNDLE)) as typeof Workbench;
      api = workbench.start(context, shell(reason));
      resolve(api);
    }).catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      void vscode.window.showErrorMessage(
        `Sovereign Workbench could not load (${reason}): ${message}. Reinstall the extension (the VSIX of your platform, docs/packaging.md), then reload the window.`,
      );
      throw err;
    });
    return loading;
  };

  const tree = (id: string, name: string): LazyTreeView & { provider: LazyTree } => {
    const provider = new LazyTree(load, name);
    const view = vscode.window.createTreeView(id, { treeDataProvider: provider });
    context.subscriptions.push(provider, view);
    return { view, provider, attach: (real) => provider.attach(real) };
  };
  const trees = { models: tree('sovereign.models', 'Models'), engines: tree('sovereign.engines', 'Local Engines'), deployments: tree('sovereign.deployments', 'Deployments') };

  const shell = (reason: string): Shell => ({
    reason,
    release: () => {
      for (const d of standIns.splice(0)) d.dispose();
    },
    trees,
  });

  // Every contributed command: the first run loads the workbench, whose own command then takes the call.
  for (const { command } of manifest.contributes?.commands ?? []) {
    standIns.push(
      vscode.commands.registerCommand(command, async (...args: unknown[]) => {
        await load(`command ${command}`);
        return vscode.commands.executeCommand(command, ...args);
      }),
    );
  }
  // A panel restored after a reload (its `onWebviewPanel:` activation event) is handed to the real serializer.
  for (const event of manifest.activationEvents ?? []) {
    const viewType = /^onWebviewPanel:(.+)$/.exec(event)?.[1];
    if (!viewType) continue;
    standIns.push(
      vscode.window.registerWebviewPanelSerializer(viewType, {
        async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
          const loaded = await load(`restoring the ${viewType} panel`);
          await loaded.webviews.serializers[viewType]?.deserializeWebviewPanel(panel, state);
        },
      }),
    );
  }
  // The first completion request loads the workbench, whose provider answers it (and every later one directly).
  standIns.push(
    vscode.languages.registerInlineCompletionItemProvider(
      { pattern: '**' },
      {
        provideInlineCompletionItems: async (document, position, inline, token) => {
          if (!vscode.workspace.getConfiguration('sovereign.completion').get('enabled', true)) return undefined;
          const loaded = await load('inline completion').catch(() => undefined);
          if (!loaded || token.isCancellationRequested) return undefined;
          return loaded.completion.provide(document, position, inline, token);
        },
      },
    ),
  );

  // A governed folder (or one added later, or a registry file opened) loads the workbench for the Models view
  // and the policy diagnostics, after activation has returned.
  const loadIfGoverned = (): void => {
    if (api || loading) return;
    void governedFolder(vscode.workspace.workspaceFolders ?? []).then((folder) => (folder && !api ? load(`${folder} holds a .sovereign/ registry`).catch(() => undefined) : undefined));
  };
  context.subscriptions.push(
    vscode.workspace.onDidChangeWorkspaceFolders(loadIfGoverned),
    vscode.workspace.onDidOpenTextDocument((doc) => (!api && doc.uri.path.includes('/.sovereign/') ? load(`${doc.uri.fsPath} opened`).catch(() => undefined) : undefined)),
    { dispose: () => shell('deactivation').release() },
  );
  loadIfGoverned();

  return {
    get loaded() {
      return api !== undefined;
    },
    api: () => load('the extension API'),
  };
}

/**
 * The first workspace folder that holds `.sovereign/`, in itself or in a folder above it (a registry at the git
 * top level of a subfolder opened alone): a few `access` calls, no git.
 */
export async function governedFolder(folders: readonly { uri: { scheme: string; fsPath: string } }[]): Promise<string | undefined> {
  for (const folder of folders) {
    if (folder.uri.scheme !== 'file') continue;
    for (let dir = folder.uri.fsPath; ; dir = dirname(dir)) {
      if (await access(join(dir, '.sovereign')).then(() => true, () => false)) return folder.uri.fsPath;
      if (dirname(dir) === dir) break;
    }
  }
  return undefined;
}

export function deactivate(): void {}
