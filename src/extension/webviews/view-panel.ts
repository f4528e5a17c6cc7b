import * as vscode from 'vscode';
import { READY, ReadyGate, RpcEndpoint, type HostEndpoint, type IpcMessage, type ViewContract } from '../../../webview/shared/ipc';
import type { ExtensionServices } from '../context';
import { makeNonce, webviewHtml } from './html';

export interface ViewDefinition {
  /** webview panel type, also the bundle name: dist/webview/<bundle>.js and media/webview/<bundle>.css. */
  viewType: string;
  bundle: string;
  title: string;
}

/**
 * One webview panel with the typed channel of its contract. Singleton per view (show() reveals the open
 * one). The webview is NOT kept alive when hidden (retainContextWhenHidden: false, the cheap default): it
 * keeps its own UI state with setState, says `ready` when it loads again, and gets the latest state.
 */
export abstract class ViewPanel<C extends ViewContract> implements vscode.Disposable {
  protected readonly panel: vscode.WebviewPanel;
  protected readonly rpc: HostEndpoint<C>;
  protected readonly gate: ReadyGate<C['toWebview']>;
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;

  protected constructor(protected readonly services: ExtensionServices, definition: ViewDefinition) {
    const extensionUri = services.context.extensionUri;
    this.panel = vscode.window.createWebviewPanel(definition.viewType, definition.title, vscode.ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: false,
      enableFindWidget: true,
      // Only the bundles and the styles: no workspace files, no other extension resources.
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
    });
    this.panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'sovereign.svg');
    const webview = this.panel.webview;
    const asUri = (...path: string[]): string => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...path)).toString();
    this.rpc = new RpcEndpoint((message: IpcMessage) => void webview.postMessage(message), { timeoutMs: 0 });
    this.gate = new ReadyGate((method, params) => this.rpc.notify(method, params));
    this.rpc.on(READY, () => {
      this.gate.markReady();
      this.onReady();
    });
    this.disposables.push(
      webview.onDidReceiveMessage((m: unknown) => {
        if (!this.rpc.receive(m)) services.log.warn(`webview ${definition.viewType}: ignored a malformed message`);
      }),
      this.panel.onDidChangeViewState(() => {
        // Hidden with retainContextWhenHidden false: the document is destroyed; hold state until `ready`.
        if (!this.panel.visible) this.gate.markGone();
        this.onVisibilityChanged(this.panel.visible);
      }),
      this.panel.onDidDispose(() => this.dispose()),
    );
    webview.html = webviewHtml({
      title: definition.title,
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: asUri('dist', 'webview', `${definition.bundle}.js`),
      styleUris: [asUri('media', 'webview', 'common.css'), asUri('media', 'webview', `${definition.bundle}.css`)],
    });
  }

  get visible(): boolean {
    return !this.disposed && this.panel.visible;
  }

  reveal(): void {
    this.panel.reveal();
  }

  protected track(...d: vscode.Disposable[]): void {
    this.disposables.push(...d);
  }

  /** The webview (re)loaded: state replays automatically; views may refresh here. */
  protected onReady(): void {}

  protected onVisibilityChanged(_visible: boolean): void {}

  /** Opens a repository-relative or absolute file, at a 1-based line when given. */
  protected async openFile(root: string, file: string, line?: number, column?: number): Promise<boolean> {
    const uri = file.startsWith('/') ? vscode.Uri.file(file) : vscode.Uri.joinPath(vscode.Uri.file(root), file);
    const position = line ? new vscode.Position(Math.max(0, line - 1), Math.max(0, (column ?? 1) - 1)) : undefined;
    await vscode.window.showTextDocument(uri, { preview: true, viewColumn: vscode.ViewColumn.Beside, selection: position ? new vscode.Range(position, position) : undefined });
    return true;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.rpc.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
    this.onDisposed();
  }

  protected onDisposed(): void {}
}
