import * as vscode from 'vscode';
import { join } from 'node:path';
import type { RegistrySnapshot } from '../../core/worker/registry-methods';
import type { RegistryState } from './registry-state';

type Version = RegistrySnapshot['versions'][number];
export type ModelNode = { kind: 'model'; name: string; versions: Version[] } | { kind: 'version'; version: Version; violations: number };

/** The Models tree: name -> versions, with aliases and scan / signature / policy status icons. */
export class ModelsView implements vscode.TreeDataProvider<ModelNode> {
  readonly onDidChangeTreeData: vscode.Event<void>;

  constructor(private readonly state: RegistryState) {
    this.onDidChangeTreeData = (listener, thisArg, disposables) => state.onDidChange(() => listener.call(thisArg, undefined), undefined, disposables);
  }

  async getChildren(element?: ModelNode): Promise<ModelNode[]> {
    const snap = this.state.snapshot ?? (await this.state.refresh());
    if (!snap) return [];
    if (!element) {
      const names = [...new Set(snap.versions.map((v) => v.name))];
      return names.map((name) => ({ kind: 'model', name, versions: snap.versions.filter((v) => v.name === name).reverse() }));
    }
    if (element.kind === 'model') {
      return element.versions.map((version) => ({
        kind: 'version',
        version,
        violations: snap.violations.filter((x) => x.model === version.name && x.version === version.version).length,
      }));
    }
    return [];
  }

  getTreeItem(node: ModelNode): vscode.TreeItem {
    if (node.kind === 'model') {
      const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.Expanded);
      const aliases = node.versions.flatMap((v) => v.aliases.map((a) => `${a}→${v.version}`));
      item.description = aliases.join(' ');
      item.iconPath = new vscode.ThemeIcon('package');
      item.contextValue = 'sovereign.model';
      item.id = `model:${node.name}`;
      return item;
    }
    const v = node.version;
    const item = new vscode.TreeItem(v.version, vscode.TreeItemCollapsibleState.None);
    const status = [v.aliases.length ? v.aliases.join(', ') : '', v.format ?? '', v.signed ? 'signed' : 'unsigned', node.violations ? `${node.violations} violation(s)` : '', v.published?.length ? `published ×${v.published.length}` : ''].filter(Boolean);
    item.description = status.join(' · ');
    item.tooltip = new vscode.MarkdownString(
      [`**${v.name}@${v.version}**`, v.description ?? '', `scan: ${v.scan ?? 'unknown'}${v.worst ? ` (worst: ${v.worst})` : ''}`, `signature: ${v.signed ? 'signed' : 'not signed'}`, `policy: ${node.violations ? `${node.violations} violation(s)` : 'ok'}`, ...(v.published ?? []).map((p) => `published: \`${p.target}@${p.digest.slice(0, 19)}…\` (${p.time.slice(0, 10)}${p.signed ? ', signature attached' : ''}, ${p.referrers.length} referrer(s))`), `\`${v.file}\``]
        .filter(Boolean)
        .join('\n\n'),
    );
    item.iconPath =
      v.scan === 'fail' ? new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'))
      : node.violations ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'))
      : v.signed ? new vscode.ThemeIcon('verified-filled', new vscode.ThemeColor('testing.iconPassed'))
      : new vscode.ThemeIcon('circle-large-outline');
    item.contextValue = v.signed ? 'sovereign.version.signed' : 'sovereign.version';
    item.id = `version:${v.name}@${v.version}`;
    const root = this.state.snapshot?.root;
    if (root) item.command = { command: 'vscode.open', title: 'Open Manifest', arguments: [vscode.Uri.file(join(root, v.file))] };
    return item;
  }
}
