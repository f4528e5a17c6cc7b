import * as vscode from 'vscode';
import { describeError } from '../../core/util/errors';
import type { LineageContract, LineageState } from '../../../webview/lineage/contract';
import type { ExtensionServices } from '../context';
import type { RegistryState } from '../registry/registry-state';
import { PanelSlot, ViewPanel, type PanelOrigin } from './view-panel';
import { VIEW_TYPES } from '../../../webview/shared/view-state';
import { LINEAGE_PARAMS } from '../../../webview/lineage/schema';

/** Registry lineage: the graph from the registry snapshot, laid out in the core worker. */
export class LineagePanel extends ViewPanel<LineageContract> {
  private static readonly slot = new PanelSlot<LineagePanel>();
  private generation = 0;

  /** The open panel, if any (one per view). */
  static get open(): LineagePanel | undefined {
    return LineagePanel.slot.open;
  }

  static show(services: ExtensionServices, registry: RegistryState, column?: vscode.ViewColumn): LineagePanel {
    return LineagePanel.slot.show((origin) => new LineagePanel(services, registry, origin), column);
  }

  static revive(services: ExtensionServices, registry: RegistryState, panel: vscode.WebviewPanel): LineagePanel {
    return LineagePanel.slot.revive((origin) => new LineagePanel(services, registry, origin), panel);
  }

  private constructor(services: ExtensionServices, private readonly registry: RegistryState, origin: PanelOrigin) {
    super(services, { viewType: VIEW_TYPES.lineage, bundle: 'lineage', title: 'Model Lineage' }, LINEAGE_PARAMS, origin);
    this.rpc
      .handle('openManifest', async ({ id }) => {
        const snap = this.registry.snapshot;
        const node = snap?.graph.nodes.find((n) => n.id === id);
        const version = node && snap?.versions.find((v) => v.name === node.name && v.version === node.version);
        if (!snap || !version) throw new Error(`${id} has no manifest in this registry (a parent outside it, or a dataset)`);
        return this.openFile(snap.root, version.file);
      })
      .handle('refresh', async () => {
        await this.registry.refresh();
      });
    this.track(registry.onDidChange(() => void this.update()));
    this.gate.publish('state', { kind: 'loading' });
    void this.update();
  }

  private async update(): Promise<void> {
    const generation = ++this.generation;
    const snap = this.registry.snapshot ?? (await this.registry.refresh());
    let state: LineageState;
    if (!snap) state = { kind: 'empty', message: 'No model registry in this workspace. Run "Sovereign: Initialise Registry and Policy", then register a model.' };
    else if (!snap.graph.nodes.length) state = { kind: 'empty', message: 'The registry has no model versions yet. Run "Sovereign: Register Model...".' };
    else {
      try {
        const layout = await this.services.worker.call('lineageLayout', [snap.graph]);
        state = { kind: 'graph', update: { graph: snap.graph, layout } };
      } catch (err) {
        state = { kind: 'empty', message: `The lineage could not be laid out: ${describeError(err)}` };
      }
    }
    if (generation === this.generation) this.gate.publish('state', state);
  }

  protected override onDisposed(): void {
    LineagePanel.slot.release(this);
  }
}
