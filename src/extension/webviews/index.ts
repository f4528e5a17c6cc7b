import * as vscode from 'vscode';
import type { ExtensionServices } from '../context';
import type { RegistryState } from '../registry/registry-state';
import { BenchmarksPanel } from './benchmarks-panel';
import { DeploymentsPanel } from './deployments-panel';
import { LineagePanel } from './lineage-panel';
import { PolicyPanel } from './policy-panel';

/** The four webviews (docs/webviews.md): lineage, benchmarks, policy violations, deployments. */
export function registerWebviews(services: ExtensionServices, registry: RegistryState): void {
  services.context.subscriptions.push(
    vscode.commands.registerCommand('sovereign.showLineage', () => LineagePanel.show(services, registry)),
    vscode.commands.registerCommand('sovereign.showBenchmarks', () => BenchmarksPanel.show(services)),
    vscode.commands.registerCommand('sovereign.showPolicyViolations', () => PolicyPanel.show(services, registry)),
    vscode.commands.registerCommand('sovereign.showDeployments', () => DeploymentsPanel.show(services)),
  );
}
