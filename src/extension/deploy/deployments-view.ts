import * as vscode from 'vscode';
import type { Deployment } from '../../core/deploy/deployments';
import { describeError } from '../../core/util/errors';
import type { ExtensionServices } from '../context';

/**
 * The Deployments tree: what runs where, read back from the Docker engine's labels and container names
 * (`listDeployments`), polled while the view is visible.
 */
export class DeploymentsView implements vscode.TreeDataProvider<Deployment>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private deployments: Deployment[] = [];
  private problem: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly services: ExtensionServices) {}

  get lastProblem(): string | undefined {
    return this.problem;
  }

  /** Starts or stops polling as the view is shown or hidden. */
  setVisible(visible: boolean): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (visible) {
      void this.refresh();
      this.timer = setInterval(() => void this.refresh(), 10_000);
    }
  }

  async refresh(): Promise<void> {
    try {
      // dockerode stays out of activation: loaded when deployments are first looked at.
      const { listDeployments, dockerAvailability } = await import('../../core/deploy/index.js');
      const availability = await dockerAvailability();
      if (!availability.available) {
        this.deployments = [];
        this.problem = availability.reason ?? 'the Docker engine is not reachable';
      } else {
        this.deployments = await listDeployments();
        this.problem = undefined;
      }
    } catch (err) {
      this.problem = describeError(err);
    }
    if (this.problem) this.services.log.debug(`deployments: ${this.problem}`);
    void vscode.commands.executeCommand('setContext', 'sovereign.dockerProblem', this.problem ?? '');
    this.changed.fire();
  }

  list(): Deployment[] {
    return this.deployments;
  }

  getChildren(element?: Deployment): Deployment[] {
    return element ? [] : this.deployments;
  }

  getTreeItem(d: Deployment): vscode.TreeItem {
    const item = new vscode.TreeItem(`${d.model}@${d.version}`, vscode.TreeItemCollapsibleState.None);
    item.description = [d.role, d.running ? 'running' : d.state, d.url ?? ''].filter(Boolean).join(' · ');
    item.tooltip = new vscode.MarkdownString(
      [`**${d.model}@${d.version}** (${d.role})`, `container: \`${d.container}\``, `image: \`${d.image}\``, `sha256: \`${d.sha256.slice(0, 16)}…\``, `manifest commit: \`${d.manifestCommit.slice(0, 10)}\``, d.url ? `url: ${d.url}` : '', `model ${d.modelMode === 'copy' ? 'copied into the image' : 'mounted read-only'}`, `created ${d.created}`]
        .filter(Boolean)
        .join('\n\n'),
    );
    item.iconPath = new vscode.ThemeIcon(
      !d.running ? 'debug-stop' : d.role === 'stable' ? 'vm-running' : d.role === 'canary' ? 'beaker' : 'history',
      d.running ? new vscode.ThemeColor('testing.iconPassed') : undefined,
    );
    item.contextValue = `sovereign.deployment.${d.role}`;
    item.id = d.container;
    return item;
  }

  dispose(): void {
    clearInterval(this.timer);
    this.changed.dispose();
  }
}
