import * as vscode from 'vscode';
import { writeFile } from 'node:fs/promises';
import { describeError } from '../../core/util/errors';
import type { BenchmarksContract, BenchmarksState } from '../../../webview/benchmarks/contract';
import type { ExtensionServices } from '../context';
import { PanelSlot, ViewPanel, type PanelOrigin } from './view-panel';
import { VIEW_TYPES } from '../../../webview/shared/view-state';
import { BENCHMARKS_PARAMS } from '../../../webview/benchmarks/schema';

const FILTERS: Record<'png' | 'svg' | 'csv', Record<string, string[]>> = {
  png: { 'PNG image': ['png'] },
  svg: { 'SVG image': ['svg'] },
  csv: { 'CSV (comma-separated values)': ['csv'] },
};

/** Benchmark results from `.sovereign/benchmarks/` (read in the core worker), charted in the webview. */
export class BenchmarksPanel extends ViewPanel<BenchmarksContract> {
  private static readonly slot = new PanelSlot<BenchmarksPanel>();

  /** The open panel, if any (one per view). */
  static get open(): BenchmarksPanel | undefined {
    return BenchmarksPanel.slot.open;
  }

  static show(services: ExtensionServices, column?: vscode.ViewColumn): BenchmarksPanel {
    return BenchmarksPanel.slot.show((origin) => new BenchmarksPanel(services, origin), column);
  }

  static revive(services: ExtensionServices, panel: vscode.WebviewPanel): BenchmarksPanel {
    return BenchmarksPanel.slot.revive((origin) => new BenchmarksPanel(services, origin), panel);
  }

  private constructor(services: ExtensionServices, origin: PanelOrigin) {
    super(services, { viewType: VIEW_TYPES.benchmarks, bundle: 'benchmarks', title: 'Benchmarks' }, BENCHMARKS_PARAMS, origin);
    this.rpc
      .handle('saveFile', async ({ suggestedName, kind, text, base64 }) => {
        if (!(kind in FILTERS)) throw new Error(`cannot save a "${kind}" file`);
        const root = await this.services.workspaceRoot();
        const safeName = suggestedName.replace(/[/\\]/g, '-');
        const target = await vscode.window.showSaveDialog({
          title: `Save ${kind.toUpperCase()}`,
          filters: FILTERS[kind],
          defaultUri: root ? vscode.Uri.joinPath(vscode.Uri.file(root), safeName) : undefined,
        });
        if (!target) return undefined;
        const data = base64 !== undefined ? Buffer.from(base64, 'base64') : Buffer.from(text ?? '', 'utf8');
        await writeFile(target.fsPath, data);
        void vscode.window.showInformationMessage(`Sovereign: saved ${target.fsPath}`);
        return target.fsPath;
      })
      .handle('openFile', async ({ id }) => {
        const root = await this.services.workspaceRoot();
        if (!root || !/^\.sovereign\/benchmarks\/[^/]+\/[^/]+\/[^/]+\.json$/.test(id) || id.includes('..')) throw new Error(`${id} is not a stored benchmark report`);
        return this.openFile(root, id);
      })
      .handle('refresh', () => this.load());
    const watcher = vscode.workspace.createFileSystemWatcher('**/.sovereign/benchmarks/**/*.json');
    let timer: NodeJS.Timeout | undefined;
    const schedule = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => void this.load(), 300);
    };
    this.track(watcher, watcher.onDidCreate(schedule), watcher.onDidChange(schedule), watcher.onDidDelete(schedule), { dispose: () => clearTimeout(timer) });
    this.gate.publish('state', { kind: 'loading' });
    void this.load();
  }

  private async load(): Promise<void> {
    let state: BenchmarksState;
    const root = await this.services.workspaceRoot();
    if (!root) state = { kind: 'empty', message: 'Open a git repository with a Sovereign registry to see its benchmark results.', problems: [] };
    else {
      try {
        const { runs, problems } = await this.services.worker.call('benchmarkRuns', [root]);
        state = runs.length
          ? { kind: 'runs', runs, problems }
          : { kind: 'empty', message: 'No stored benchmark results. Run `sovereign bench MODEL --save` (results go to .sovereign/benchmarks/NAME/VERSION/).', problems };
      } catch (err) {
        state = { kind: 'empty', message: `The benchmark results could not be read: ${describeError(err)}`, problems: [] };
      }
    }
    this.gate.publish('state', state);
  }

  protected override onDisposed(): void {
    BenchmarksPanel.slot.release(this);
  }
}
