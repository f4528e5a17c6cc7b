import * as vscode from 'vscode';
import { describeError } from '../../core/util/errors';
import { describeSavedState, VIEW_TYPES, type ViewName } from '../../../webview/shared/view-state';
import { pickWorkspaceRoot, type ExtensionServices } from '../context';
import { nodeRoot } from '../registry/pick';
import type { RegistryState } from '../registry/registry-state';
import { BenchmarksPanel } from './benchmarks-panel';
import { DeploymentsPanel } from './deployments-panel';
import { restoreFailedHtml } from './html';
import { LineagePanel } from './lineage-panel';
import { PolicyPanel } from './policy-panel';
import { TcoPanel } from './tco-panel';
import { PlaygroundPanel } from './playground-panel';
import type { ChatService } from '../chat/chat-service';
import { unrestoredTabs, type OpenPanel } from './view-panel';

interface ViewEntry {
  /** The view shows one registry (the focused one): with several, its command asks which (or takes a tree item's). */
  oneRegistry?: boolean;
  command: string;
  commandTitle: string;
  title: string;
  open(): OpenPanel | undefined;
  show(column?: vscode.ViewColumn): OpenPanel;
  revive(panel: vscode.WebviewPanel): OpenPanel;
}

/** The webviews as the extension's API gives them to the extension-host tests. */
export interface SovereignWebviews {
  /** The serializers registered with `registerWebviewPanelSerializer`, by view type (what VS Code calls). */
  serializers: Record<string, vscode.WebviewPanelSerializer>;
  /** The panel open for a view type, if any. */
  open(viewType: string): OpenPanel | undefined;
}

/** The webviews (docs/webviews.md): lineage, benchmarks, policy violations, deployments, cost (TCO), Playground (docs/chat.md). */
export function registerWebviews(services: ExtensionServices, registry: RegistryState, chat: ChatService): SovereignWebviews {
  const views: Record<ViewName, ViewEntry> = {
    lineage: {
      oneRegistry: true,
      command: 'sovereign.showLineage',
      commandTitle: 'Sovereign: Show Lineage',
      title: 'Model Lineage',
      open: () => LineagePanel.open,
      show: (column) => LineagePanel.show(services, registry, column),
      revive: (panel) => LineagePanel.revive(services, registry, panel),
    },
    benchmarks: {
      command: 'sovereign.showBenchmarks',
      commandTitle: 'Sovereign: Show Benchmarks',
      title: 'Benchmarks',
      open: () => BenchmarksPanel.open,
      show: (column) => BenchmarksPanel.show(services, column),
      revive: (panel) => BenchmarksPanel.revive(services, panel),
    },
    policy: {
      oneRegistry: true,
      command: 'sovereign.showPolicyViolations',
      commandTitle: 'Sovereign: Show Policy Violations',
      title: 'Policy Violations',
      open: () => PolicyPanel.open,
      show: (column) => PolicyPanel.show(services, registry, column),
      revive: (panel) => PolicyPanel.revive(services, registry, panel),
    },
    deployments: {
      command: 'sovereign.showDeployments',
      commandTitle: 'Sovereign: Show Deployments',
      title: 'Deployments',
      open: () => DeploymentsPanel.open,
      show: (column) => DeploymentsPanel.show(services, column),
      revive: (panel) => DeploymentsPanel.revive(services, panel),
    },
    tco: {
      command: 'sovereign.showTco',
      commandTitle: 'Sovereign: Show Cost (TCO)',
      title: 'Cost (TCO)',
      open: () => TcoPanel.open,
      show: (column) => TcoPanel.show(services, column),
      revive: (panel) => TcoPanel.revive(services, panel),
    },
    playground: {
      command: 'sovereign.showPlayground',
      commandTitle: 'Sovereign: Open Playground',
      title: 'Playground',
      open: () => PlaygroundPanel.open,
      show: (column) => PlaygroundPanel.show(services, chat, column),
      revive: (panel) => PlaygroundPanel.revive(services, chat, panel),
    },
  };
  const serializers: Record<string, vscode.WebviewPanelSerializer> = {};
  for (const [name, view] of Object.entries(views) as [ViewName, ViewEntry][]) {
    const viewType = VIEW_TYPES[name];
    serializers[viewType] = {
      // Called by VS Code when a panel saved at shutdown/reload is first shown again. Never throws: the
      // panel's own empty states cover a workspace that is gone or not governed, and a failure to wire it
      // leaves a page that says so.
      deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Thenable<void> {
        try {
          services.log.info(`webview ${viewType}: restored after a reload (saved view state: ${describeSavedState(name, state)})`);
          view.revive(panel);
        } catch (err) {
          try {
            services.log.error(`webview ${viewType}: could not be restored: ${describeError(err)}`);
            panel.webview.html = restoreFailedHtml(view.title, describeError(err), view.commandTitle);
          } catch {
            // the panel is gone already: nothing to show it in
          }
        }
        return Promise.resolve();
      },
    };
    services.context.subscriptions.push(
      vscode.window.registerWebviewPanelSerializer(viewType, serializers[viewType]),
      vscode.commands.registerCommand(view.command, async (arg?: unknown) => {
        if (view.oneRegistry && (nodeRoot(arg) || registry.all.length > 1)) {
          // A multi-root window: the registry of the tree item the command came from, else the one picked.
          const root = await pickWorkspaceRoot(services, { title: view.title, root: nodeRoot(arg) });
          if (!root) return undefined;
          registry.focus(root);
        }
        if (view.open()) return view.show();
        // A tab VS Code restored but has not handed to the serializer yet (a background tab after a reload)
        // would become a second panel of this view: it is closed and the view opens in its place.
        const stale = unrestoredTabs(viewType);
        const column = stale[0]?.group.viewColumn;
        if (stale.length) {
          try {
            await vscode.window.tabGroups.close(stale);
          } catch (err) {
            services.log.warn(`webview ${viewType}: could not close a tab restored earlier: ${describeError(err)}`);
          }
        }
        return view.open() ?? view.show(column);
      }),
    );
  }
  return {
    serializers,
    open: (viewType) => {
      const name = (Object.keys(VIEW_TYPES) as ViewName[]).find((n) => VIEW_TYPES[n] === viewType);
      return name ? views[name].open() : undefined;
    },
  };
}
