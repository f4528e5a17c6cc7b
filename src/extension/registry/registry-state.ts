import * as vscode from 'vscode';
import type { RegistrySnapshot } from '../../core/worker/registry-methods';
import { describeError } from '../../core/util/errors';
import type { ExtensionServices, WorkspaceRoot } from '../context';

/** One served registry: its workspace (folder name, root) and its snapshot. */
export interface FolderRegistry {
  workspace: WorkspaceRoot;
  snapshot: RegistrySnapshot;
}

/**
 * The registries as the extension sees them: one snapshot per workspace folder that holds `.sovereign/`
 * (manifests, aliases, the violations of that folder's own policy, lineage), read on the worker thread,
 * refreshed when files under a folder's `.sovereign/` change and when folders are added or removed. The
 * Models view, the diagnostics and the webviews all read these snapshots.
 */
export class RegistryState implements vscode.Disposable {
  private registries: FolderRegistry[] = [];
  private focused: string | undefined;
  private refreshing: Promise<RegistrySnapshot | undefined> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly changed = new vscode.EventEmitter<RegistrySnapshot | undefined>();
  /** Fires after every refresh (and a change of focus) with the focused registry's snapshot (read `all` for every folder's). */
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private watchers: vscode.Disposable[] = [];
  private watched = '';

  constructor(private readonly services: ExtensionServices) {
    this.disposables.push(
      vscode.workspace.onDidChangeWorkspaceFolders(() => {
        services.forgetWorkspaces();
        void this.refresh();
      }),
    );
    this.watchFolders([]);
  }

  /**
   * The focused registry's snapshot: the one the lineage and policy views show. The first registry unless
   * another was focused (`focus`); the only one in a single-folder window.
   */
  get snapshot(): RegistrySnapshot | undefined {
    return (this.focused ? this.snapshotOf(this.focused) : undefined) ?? this.registries[0]?.snapshot;
  }

  /** Makes the registry at `root` the one `snapshot` gives (the views that show one registry follow it). */
  focus(root: string): void {
    if (this.focused === root) return;
    this.focused = root;
    this.changed.fire(this.snapshot);
  }

  /** Every served registry, in folder order. */
  get all(): readonly FolderRegistry[] {
    return this.registries;
  }

  /** The snapshot of the registry at `root`. */
  snapshotOf(root: string): RegistrySnapshot | undefined {
    return this.registries.find((r) => r.workspace.root === root)?.snapshot;
  }

  /**
   * Re-reads every registry now, looking at the folders again (a registry created, a folder added). Concurrent
   * calls share one read; a call during a read gets one more read after it. Resolves with the focused snapshot.
   */
  refresh(): Promise<RegistrySnapshot | undefined> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      try {
        do {
          this.again = false;
          await this.read();
        } while (this.again);
      } finally {
        this.refreshing = undefined;
      }
      this.changed.fire(this.snapshot);
      return this.snapshot;
    })();
    return this.refreshing;
  }

  private async read(): Promise<void> {
    this.services.forgetWorkspaces();
    let roots: WorkspaceRoot[] = [];
    try {
      const all = await this.services.workspaces();
      this.watchFolders(all);
      roots = all.filter((w) => w.governed);
    } catch (err) {
      this.services.log.warn(`registry: ${describeError(err)}`);
    }
    const next = await Promise.all(
      roots.map(async (workspace) => {
        try {
          return { workspace, snapshot: await this.services.worker.call('registrySnapshot', [workspace.root]) };
        } catch (err) {
          this.services.log.warn(`registry of ${workspace.name} (${workspace.root}): ${describeError(err)}`);
          // Keep what was last read of this registry rather than dropping the folder from the view.
          return this.registries.find((r) => r.workspace.root === workspace.root);
        }
      }),
    );
    this.registries = next.filter((r): r is FolderRegistry => r !== undefined);
  }

  /**
   * One watcher per folder (`.sovereign/` anywhere under it: a registry created) and one per registry whose
   * git root lies above its folders (its `.sovereign/` is outside them), rebuilt when the set changes.
   */
  private watchFolders(all: readonly WorkspaceRoot[]): void {
    const bases = new Map<string, string>();
    for (const folder of vscode.workspace.workspaceFolders ?? []) if (folder.uri.scheme === 'file') bases.set(folder.uri.fsPath, '**/.sovereign/**');
    for (const w of all) if (w.git && !bases.has(w.root)) bases.set(w.root, '.sovereign/**');
    const key = JSON.stringify([...bases].sort());
    if (key === this.watched) return;
    this.watched = key;
    for (const d of this.watchers) d.dispose();
    this.watchers = [];
    const schedule = (): void => this.scheduleRefresh();
    for (const [base, glob] of bases) {
      const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(base), glob));
      this.watchers.push(watcher, watcher.onDidChange(schedule), watcher.onDidCreate(schedule), watcher.onDidDelete(schedule));
    }
  }

  /** File events come in bursts (a registry commit writes several files): refresh once after them. */
  scheduleRefresh(delayMs = 300): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), delayMs);
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const d of [...this.disposables, ...this.watchers]) d.dispose();
  }
}
