import { isAbsolute, relative, resolve } from 'node:path';
import { locateWorkspace } from './workspace';

/**
 * The workspaces behind a set of folders (the folders of a multi-root VS Code window): one entry per distinct
 * root that `locateWorkspace` finds, in the order of the first folder that leads to it, with every folder
 * that does. Two folders inside one git repository share its registry; a folder outside git is its own,
 * ungoverned, root.
 */
export interface FolderWorkspace {
  root: string;
  git: boolean;
  /** The root holds `.sovereign/` (a registry, a policy or an audit log): it is served. */
  governed: boolean;
  /** The folders (as given) whose workspace this is. */
  folders: string[];
}

export async function locateFolderWorkspaces(folders: readonly string[]): Promise<FolderWorkspace[]> {
  const located = await Promise.all(folders.map(async (folder) => ({ folder, at: await locateWorkspace(folder) })));
  const byRoot = new Map<string, FolderWorkspace>();
  for (const { folder, at } of located) {
    const entry = byRoot.get(at.root);
    if (entry) entry.folders.push(folder);
    else byRoot.set(at.root, { root: at.root, git: at.git, governed: at.governed, folders: [folder] });
  }
  return [...byRoot.values()];
}

/** The root among `roots` that holds `path` (the deepest one when roots nest), or undefined. */
export function rootHolding(path: string, roots: readonly string[]): string | undefined {
  const target = resolve(path);
  let best: string | undefined;
  for (const root of roots) {
    const rel = relative(resolve(root), target);
    const inside = rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
    if (inside && (best === undefined || resolve(root).length > resolve(best).length)) best = root;
  }
  return best;
}
