import * as vscode from 'vscode';

/**
 * The stand-ins the activation shell (`extension.ts`) registers in place of the workbench, which loads on
 * first use (docs/packaging.md, "Activation"). This file imports `vscode` only: it is part of the small bundle
 * VS Code loads at activation.
 */

/**
 * A tree view's provider until the real one is attached: asking for the tree's items loads the workbench,
 * then every call goes to the real provider; its change events are passed on.
 */
export class LazyTree<T = unknown> implements vscode.TreeDataProvider<T>, vscode.Disposable {
  private real: vscode.TreeDataProvider<T> | undefined;
  private readonly changed = new vscode.EventEmitter<T | T[] | undefined | null | void>();
  private readonly subscriptions: vscode.Disposable[] = [this.changed];
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly load: (why: string) => Promise<unknown>, private readonly id: string) {}

  get attached(): boolean {
    return this.real !== undefined;
  }

  attach(real: vscode.TreeDataProvider<T>): void {
    this.real = real;
    if (real.onDidChangeTreeData) this.subscriptions.push(real.onDidChangeTreeData((e) => this.changed.fire(e)));
    this.changed.fire();
  }

  async getChildren(element?: T): Promise<T[] | undefined> {
    if (!this.real) await this.load(`the ${this.id} view`);
    return (await this.real?.getChildren(element)) ?? undefined;
  }

  getTreeItem(element: T): vscode.TreeItem | Thenable<vscode.TreeItem> {
    if (!this.real) throw new Error(`${this.id}: no item before the workbench has loaded`);
    return this.real.getTreeItem(element);
  }

  dispose(): void {
    for (const d of this.subscriptions.splice(0)) d.dispose();
  }
}

/** A tree view the shell created (so its visibility is known from the start), with the provider to attach. */
export interface LazyTreeView<T = unknown> {
  view: vscode.TreeView<T>;
  attach(real: vscode.TreeDataProvider<T>): void;
}

/** What the shell hands the workbench when it loads it (`start` in main.ts). */
export interface Shell {
  /** Why the workbench is loading now: a command id, a view, a restored panel, a governed folder. */
  readonly reason: string;
  /** Disposes the stand-in commands, serializers and completion provider, so the real ones take their ids. */
  release(): void;
  trees: {
    models: LazyTreeView;
    engines: LazyTreeView;
    deployments: LazyTreeView;
  };
}

/** The extension's exports: the workbench's API, loading it if it has not loaded yet. */
export interface SovereignActivation<Api> {
  /** Whether the workbench has loaded (false right after activation in a folder without a registry). */
  readonly loaded: boolean;
  api(): Promise<Api>;
}
