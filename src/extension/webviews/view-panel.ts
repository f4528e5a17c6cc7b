import * as vscode from 'vscode';
import { quoteMethod, READY, ReadyGate, RpcEndpoint, type HostEndpoint, type IpcMessage, type ResponseMessage, type ViewContract } from '../../../webview/shared/ipc';
import type { ParamsSchemas } from '../../../webview/shared/params-schema';
import type { ExtensionServices } from '../context';
import { makeNonce, webviewHtml } from './html';
import { compileParamsChecks } from './params-checks';

export interface ViewDefinition {
  /** webview panel type (VIEW_TYPES); the serializer and `onWebviewPanel:` use it too. */
  viewType: string;
  /** the bundle name: dist/webview/<bundle>.js and media/webview/<bundle>.css. */
  bundle: string;
  title: string;
}

/**
 * Where a panel comes from: a new one (Show command; in `column`, the active one by default), or one VS
 * Code restored after a window reload and handed to the view's serializer (`deserializeWebviewPanel`).
 */
export type PanelOrigin = { restored: vscode.WebviewPanel } | { column?: vscode.ViewColumn };

/** The webview options of every panel, new or restored. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    // Only the bundles and the styles: no workspace files, no other extension resources.
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

/**
 * Tabs of a view type that VS Code restored after a reload but has not handed to the serializer yet: it
 * does that lazily, when the tab is first shown, so they are background tabs. Call it only while no panel
 * of the view is open. (An active tab is left alone: it is being shown, hence restored, or it belongs to a
 * panel just disposed that the tab model has not dropped yet.)
 */
export function unrestoredTabs(viewType: string): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => !t.isActive && t.input instanceof vscode.TabInputWebview && isViewType(t.input.viewType, viewType));
}

/** Tab inputs name webview panels with a prefix (`mainThreadWebview-<viewType>`). */
export function isViewType(tabViewType: string, viewType: string): boolean {
  return tabViewType === viewType || tabViewType.endsWith(`-${viewType}`);
}

/** What the rest of the extension (and the extension-host tests, through the API) sees of a panel. */
export interface OpenPanel extends vscode.Disposable {
  readonly panel: vscode.WebviewPanel;
  readonly ready: boolean;
  readonly visible: boolean;
  reveal(): void;
  /**
   * Answers a request exactly as one posted by the webview is answered (method lookup, params schema,
   * handler), and returns the reply instead of posting it: the extension-host tests call the host's
   * methods through it as a (possibly compromised) webview would.
   */
  serveRequest(method: string, params: unknown): Promise<ResponseMessage>;
}

/**
 * The one panel of a view: Show reveals it instead of opening a second, and a duplicate that VS Code hands
 * back after a reload is closed in favour of the open one.
 */
export class PanelSlot<P extends OpenPanel> {
  private current: P | undefined;

  get open(): P | undefined {
    return this.current;
  }

  show(create: (origin: PanelOrigin) => P, column?: vscode.ViewColumn): P {
    if (this.current) this.current.reveal();
    else this.current = create({ column });
    return this.current;
  }

  /** A panel VS Code restored after a reload (the serializer): wired like a new one; a duplicate is closed. */
  revive(create: (origin: PanelOrigin) => P, panel: vscode.WebviewPanel): P {
    if (this.current) {
      if (this.current.panel !== panel) {
        panel.dispose();
        this.current.reveal();
      }
      return this.current;
    }
    this.current = create({ restored: panel });
    return this.current;
  }

  /** The panel is gone: the next Show opens a new one. */
  release(panel: P): void {
    if (this.current === panel) this.current = undefined;
  }
}

/**
 * One webview panel with the typed channel of its contract. Singleton per view (show() reveals the open
 * one). The webview is NOT kept alive when hidden (retainContextWhenHidden: false, the cheap default): it
 * keeps its own UI state with setState, says `ready` when it loads again, and gets the latest state.
 */
export abstract class ViewPanel<C extends ViewContract> implements OpenPanel {
  readonly panel: vscode.WebviewPanel;
  protected readonly rpc: HostEndpoint<C>;
  protected readonly gate: ReadyGate<C['toWebview']>;
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;

  private testRequestId = 0;

  /**
   * `params`: the schema of each host method of the contract (`webview/<view>/schema.ts`); a request
   * is answered only when its method is served and its params match (docs/webviews.md).
   */
  protected constructor(protected readonly services: ExtensionServices, definition: ViewDefinition, params: ParamsSchemas<C>, origin: PanelOrigin = {}) {
    const extensionUri = services.context.extensionUri;
    if ('restored' in origin) {
      // A panel VS Code restored: its panel options (no retained context, find widget) were saved with it;
      // the webview options are set again, so the resource roots follow this install of the extension.
      this.panel = origin.restored;
      this.panel.webview.options = webviewOptions(extensionUri);
      this.panel.title = definition.title;
    } else {
      this.panel = vscode.window.createWebviewPanel(definition.viewType, definition.title, origin.column ?? vscode.ViewColumn.Active, {
        ...webviewOptions(extensionUri),
        retainContextWhenHidden: false,
        enableFindWidget: true,
      });
    }
    this.panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'sovereign.svg');
    const webview = this.panel.webview;
    const asUri = (...path: string[]): string => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...path)).toString();
    this.rpc = new RpcEndpoint((message: IpcMessage) => void webview.postMessage(message), {
      timeoutMs: 0,
      checks: compileParamsChecks(params),
      onRefused: (method, code, problem) => services.log.warn(`webview ${definition.viewType}: refused a request for ${quoteMethod(method)} (${code}): ${problem}`),
    });
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

  /** True while the webview's document is loaded and has said `ready` (the host posts state then). */
  get ready(): boolean {
    return !this.disposed && this.gate.isReady;
  }

  get visible(): boolean {
    return !this.disposed && this.panel.visible;
  }

  reveal(): void {
    this.panel.reveal();
  }

  serveRequest(method: string, params: unknown): Promise<ResponseMessage> {
    return this.rpc.serve({ kind: 'request', id: --this.testRequestId, method, params });
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
