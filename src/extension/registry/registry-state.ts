import * as vscode from 'vscode';
import type { RegistrySnapshot } from '../../core/worker/registry-methods';
import { describeError } from '../../core/util/errors';
import type { ExtensionServices } from '../context';

/**
 * The registry as the extension sees it: one snapshot (manifests, aliases, policy violations, lineage)
 * read on the worker thread, refreshed when files under `.sovereign/` change. The Models view, the
 * diagnostics and the lineage webview all read this one snapshot.
 */
export class RegistryState implements vscode.Disposable {
  private current: RegistrySnapshot | undefined;
  private refreshing: Promise<RegistrySnapshot | undefined> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly changed = new vscode.EventEmitter<RegistrySnapshot | undefined>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor(private readonly services: ExtensionServices) {
    const watcher = vscode.workspace.createFileSystemWatcher('**/.sovereign/**');
    const schedule = (): void => this.scheduleRefresh();
    this.disposables.push(watcher, watcher.onDidChange(schedule), watcher.onDidCreate(schedule), watcher.onDidDelete(schedule));
  }

  get snapshot(): RegistrySnapshot | undefined {
    return this.current;
  }

  /** Re-reads the registry now (coalesces concurrent calls). */
  refresh(): Promise<RegistrySnapshot | undefined> {
    this.refreshing ??= (async () => {
      try {
        const root = await this.services.workspaceRoot();
        this.current = root ? await this.services.worker.call('registrySnapshot', [root]) : undefined;
      } catch (err) {
        this.services.log.warn(`registry: ${describeError(err)}`);
      } finally {
        this.refreshing = undefined;
      }
      this.changed.fire(this.current);
      return this.current;
    })();
    return this.refreshing;
  }

  /** File events come in bursts (a registry commit writes several files): refresh once after them. */
  scheduleRefresh(delayMs = 300): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), delayMs);
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}
