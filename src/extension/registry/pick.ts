import * as vscode from 'vscode';
import { join } from 'node:path';
import { pickWorkspaceRoot, type ExtensionServices } from '../context';
import type { ModelNode } from './models-view';
import type { RegistryState } from './registry-state';

/** A registered version a command acts on, in the registry (root) it belongs to. */
export interface PickedVersion {
  root: string;
  /** NAME@VERSION */
  ref: string;
  /** Its manifest, absolute. */
  manifest: string;
}

/** The registry root a Models tree node belongs to, if the argument is one. */
export function nodeRoot(arg: unknown): string | undefined {
  const node = arg as ModelNode | undefined;
  return node && typeof node === 'object' && 'kind' in node && typeof node.root === 'string' ? node.root : undefined;
}

/**
 * The version a command acts on: the tree item's (in its folder's registry), NAME@VERSION given by a caller
 * (in `root` when given, else in the registry that has it, asking when several do), or picked from every
 * registry of the window (one QuickPick; each item names its folder when there are several). A model node
 * narrows the pick to that model's versions.
 */
export async function pickVersion(services: ExtensionServices, state: RegistryState, arg: unknown, title: string, root?: string): Promise<PickedVersion | undefined> {
  const node = arg as ModelNode | undefined;
  if (node?.kind === 'version') return { root: node.root, ref: `${node.version.name}@${node.version.version}`, manifest: join(node.root, node.version.file) };
  if (!state.all.length) await state.refresh();
  const modelRoot = node?.kind === 'model' ? node.root : undefined;
  const registries = state.all.filter((r) => (!root || r.workspace.root === root) && (!modelRoot || r.workspace.root === modelRoot));
  const model = node?.kind === 'model' ? node.name : typeof arg === 'string' && !arg.includes('@') ? arg : undefined;
  const wanted = typeof arg === 'string' && arg.includes('@') ? arg : undefined;
  const several = state.all.length > 1;
  const items = registries.flatMap((r) =>
    [...r.snapshot.versions]
      .reverse()
      .filter((v) => (!model || v.name === model) && (!wanted || `${v.name}@${v.version}` === wanted))
      .map((v) => ({
        label: `${v.name}@${v.version}`,
        description: [several ? r.workspace.name : '', v.aliases.join(', '), v.signed ? 'signed' : ''].filter(Boolean).join(' · '),
        version: { root: r.workspace.root, ref: `${v.name}@${v.version}`, manifest: join(r.workspace.root, v.file) },
      })),
  );
  if (wanted && items.length === 0) {
    // A caller's NAME@VERSION that no snapshot lists (yet): the registry it names, or the one the person picks.
    const at = root ?? (await pickWorkspaceRoot(services, { title }));
    return at ? { root: at, ref: wanted, manifest: '' } : undefined;
  }
  if (!items.length) {
    void vscode.window.showInformationMessage('Sovereign: the registry is empty. Run "Sovereign: Register Model..." first.');
    return undefined;
  }
  if (wanted && items.length === 1) return items[0].version;
  return (await vscode.window.showQuickPick(items, { title: wanted ? `${title}: ${wanted} is in several folders` : title }))?.version;
}
