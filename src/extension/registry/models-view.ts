import * as vscode from 'vscode';
import { join } from 'node:path';
import type { RegistrySnapshot } from '../../core/worker/registry-methods';
import type { FolderRegistry, RegistryState } from './registry-state';

type Version = RegistrySnapshot['versions'][number];
/**
 * A node of the Models tree. Every node carries the root of its registry (`root`), so a command invoked on it
 * works in that folder's registry without asking.
 */
export type ModelNode =
  | { kind: 'folder'; root: string; name: string; registry: FolderRegistry }
  | { kind: 'model'; root: string; name: string; versions: Version[] }
  | { kind: 'version'; root: string; version: Version; violations: number };

/**
 * The Models tree: name -> versions, with aliases and scan / signature / policy status icons. With several
 * registries in the window (a multi-root workspace), one folder node per registry above its models; with one,
 * flat.
 */
export class ModelsView implements vscode.TreeDataProvider<ModelNode> {
  readonly onDidChangeTreeData: vscode.Event<void>;

  constructor(private readonly state: RegistryState) {
    this.onDidChangeTreeData = (listener, thisArg, disposables) => state.onDidChange(() => listener.call(thisArg, undefined), undefined, disposables);
  }

  async getChildren(element?: ModelNode): Promise<ModelNode[]> {
    if (!element) {
      if (!this.state.all.length) await this.state.refresh();
      const all = this.state.all;
      if (all.length > 1) return all.map((registry) => ({ kind: 'folder', root: registry.workspace.root, name: registry.workspace.name, registry }));
      return all.length ? modelsOf(all[0].snapshot) : [];
    }
    if (element.kind === 'folder') return modelsOf(element.registry.snapshot);
    if (element.kind === 'model') {
      const snap = this.state.snapshotOf(element.root);
      return element.versions.map((version) => ({
        kind: 'version',
        root: element.root,
        version,
        violations: (snap?.violations ?? []).filter((x) => x.model === version.name && x.version === version.version).length,
      }));
    }
    return [];
  }

  getTreeItem(node: ModelNode): vscode.TreeItem {
    // Ids stay as they were with one registry; with several, the root keeps them unique across folders.
    const scope = this.state.all.length > 1 ? `${node.root}:` : '';
    if (node.kind === 'folder') {
      const snap = node.registry.snapshot;
      const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.Expanded);
      const problems = snap.violations.length + snap.problems.length + (snap.policyError ? 1 : 0);
      item.description = [`${snap.versions.length} version(s)`, problems ? `${problems} problem(s)` : ''].filter(Boolean).join(' · ');
      item.tooltip = new vscode.MarkdownString([`**${node.name}**`, `registry: \`${node.root}\``, `policy: \`${snap.policyExists ? snap.policyFile : 'default policy'}\``].join('\n\n'));
      item.iconPath = new vscode.ThemeIcon('root-folder');
      item.resourceUri = vscode.Uri.file(node.root);
      item.contextValue = 'sovereign.registry';
      item.id = `registry:${node.root}`;
      return item;
    }
    if (node.kind === 'model') {
      const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.Expanded);
      const aliases = node.versions.flatMap((v) => v.aliases.map((a) => `${a}→${v.version}`));
      item.description = aliases.join(' ');
      item.iconPath = new vscode.ThemeIcon('package');
      item.contextValue = 'sovereign.model';
      item.id = `${scope}model:${node.name}`;
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
    item.id = `${scope}version:${v.name}@${v.version}`;
    item.command = { command: 'vscode.open', title: 'Open Manifest', arguments: [vscode.Uri.file(join(node.root, v.file))] };
    return item;
  }
}

function modelsOf(snap: RegistrySnapshot): ModelNode[] {
  const names = [...new Set(snap.versions.map((v) => v.name))];
  return names.map((name) => ({ kind: 'model', root: snap.root, name, versions: snap.versions.filter((v) => v.name === name).reverse() }));
}
