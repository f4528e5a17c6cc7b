import * as vscode from 'vscode';
import { tcoInputsFromForm } from '../../core/tco/form';
import { throughputFromRuns } from '../../core/tco/bench-throughput';
import { computeTco } from '../../core/tco/tco';
import { describeError } from '../../core/util/errors';
import type { TcoAnswer, TcoContract, TcoModel, TcoState } from '../../../webview/tco/contract';
import { TCO_PARAMS } from '../../../webview/tco/schema';
import { VIEW_TYPES } from '../../../webview/shared/view-state';
import type { ExtensionServices } from '../context';
import { PanelSlot, ViewPanel, type PanelOrigin } from './view-panel';

/**
 * Cost of self-hosting a model against an API (docs/tco.md): the view holds the inputs, the host computes
 * with `computeTco` (the same computation as `sovereign tco`) and the throughput of the workspace's stored
 * benchmark results (read again, in the core worker, on every computation: the view's copy is for display only).
 */
export class TcoPanel extends ViewPanel<TcoContract> {
  private static readonly slot = new PanelSlot<TcoPanel>();

  /** The open panel, if any (one per view). */
  static get open(): TcoPanel | undefined {
    return TcoPanel.slot.open;
  }

  static show(services: ExtensionServices, column?: vscode.ViewColumn): TcoPanel {
    return TcoPanel.slot.show((origin) => new TcoPanel(services, origin), column);
  }

  static revive(services: ExtensionServices, panel: vscode.WebviewPanel): TcoPanel {
    return TcoPanel.slot.revive((origin) => new TcoPanel(services, origin), panel);
  }

  private constructor(services: ExtensionServices, origin: PanelOrigin) {
    super(services, { viewType: VIEW_TYPES.tco, bundle: 'tco', title: 'Cost (TCO)' }, TCO_PARAMS, origin);
    this.rpc
      .handle('compute', async (form): Promise<TcoAnswer> => {
        const root = await this.services.workspaceRoot();
        if (!root) return { ok: false, message: 'Open a git repository with a Sovereign registry: the throughput comes from its stored benchmark results.' };
        const at = form.model.lastIndexOf('@');
        if (at <= 0) return { ok: false, message: `${form.model} is not NAME@VERSION` };
        try {
          const { runs } = await this.services.worker.call('benchmarkRuns', [root]);
          const throughput = throughputFromRuns(runs, form.model.slice(0, at), form.model.slice(at + 1));
          return { ok: true, figures: computeTco(tcoInputsFromForm(form, { inputTokensPerSecond: throughput.inputTokensPerSecond, outputTokensPerSecond: throughput.outputTokensPerSecond, source: throughput.source })) };
        } catch (err) {
          return { ok: false, message: describeError(err) };
        }
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
    let state: TcoState;
    const root = await this.services.workspaceRoot();
    if (!root) state = { kind: 'empty', message: 'Open a git repository with a Sovereign registry to price its models: the throughput comes from its stored benchmark results.' };
    else {
      try {
        const { runs } = await this.services.worker.call('benchmarkRuns', [root]);
        const refs = [...new Set(runs.map((r) => `${r.model}@${r.version}`))];
        const models: TcoModel[] = [];
        for (const ref of refs) {
          const at = ref.lastIndexOf('@');
          try {
            const t = throughputFromRuns(runs, ref.slice(0, at), ref.slice(at + 1));
            models.push({ ref, throughput: { inputTokensPerSecond: t.inputTokensPerSecond, outputTokensPerSecond: t.outputTokensPerSecond, source: t.source } });
          } catch (err) {
            models.push({ ref, problem: describeError(err) });
          }
        }
        state = models.length
          ? { kind: 'models', models }
          : { kind: 'empty', message: 'No stored benchmark results to take the throughput from. Run `sovereign bench MODEL --save --concurrency 4` (results go to .sovereign/benchmarks/NAME/VERSION/).' };
      } catch (err) {
        state = { kind: 'empty', message: `The benchmark results could not be read: ${describeError(err)}` };
      }
    }
    this.gate.publish('state', state);
  }

  protected override onDisposed(): void {
    TcoPanel.slot.release(this);
  }
}
