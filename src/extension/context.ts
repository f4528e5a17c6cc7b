import * as vscode from 'vscode';
import { basename } from 'node:path';
import { locateFolderWorkspaces, rootHolding, type FolderWorkspace } from '../core/workspace/folders';
import type { WorkerClient } from '../core/worker/client';
import { createCoreClient, type CoreClient } from './core-client';

/** A workspace behind one or more folders of the window (see `locateFolderWorkspaces`), with a name to show. */
export interface WorkspaceRoot extends FolderWorkspace {
  /** The workspace folder's name (the first folder that leads to this root). */
  name: string;
}

/** What every part of the extension shares: built once in activate(), passed explicitly. */
export interface ExtensionServices {
  context: vscode.ExtensionContext;
  log: vscode.LogOutputChannel;
  worker: WorkerClient;
  /** The one way into the core's services (deployments, benchmarks, evaluation; the worker for heavy work). */
  core: CoreClient;
  /** dist/cli.js: the serving runtime (`sovereign serve`), run as the supervised child of a local engine. */
  cliPath: string;
  /**
   * The default workspace, for what does not ask: the first registry of the window (a folder whose git
   * repository holds `.sovereign/`), else the first git repository among the folders.
   */
  workspaceRoot(): Promise<string | undefined>;
  /** Every workspace behind the window's folders (git or not, governed or not), in folder order. */
  workspaces(): Promise<WorkspaceRoot[]>;
  /** The served registries: the workspaces that hold `.sovereign/`, in folder order. */
  registryRoots(): Promise<WorkspaceRoot[]>;
  /** Forgets what `workspaces()` found (folders added or removed, a registry created): the next call looks again. */
  forgetWorkspaces(): void;
}

export function createServices(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, worker: WorkerClient): ExtensionServices {
  let cached: Promise<WorkspaceRoot[]> | undefined;
  vscode.workspace.onDidChangeWorkspaceFolders(() => (cached = undefined), undefined, context.subscriptions);
  const services: ExtensionServices = {
    context,
    log,
    worker,
    core: createCoreClient(worker, () => services.workspaceRoot()),
    cliPath: vscode.Uri.joinPath(context.extensionUri, 'dist', 'cli.js').fsPath,
    workspaces() {
      cached ??= (async () => {
        const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');
        const found = await locateFolderWorkspaces(folders.map((f) => f.uri.fsPath));
        return found.map((w) => ({ ...w, name: folders.find((f) => f.uri.fsPath === w.folders[0])?.name ?? basename(w.root) }));
      })();
      return cached;
    },
    async registryRoots() {
      return (await services.workspaces()).filter((w) => w.governed);
    },
    async workspaceRoot() {
      const all = await services.workspaces();
      return (all.find((w) => w.governed) ?? all.find((w) => w.git))?.root;
    },
    forgetWorkspaces() {
      cached = undefined;
    },
  };
  return services;
}

export interface PickRootOptions {
  title: string;
  /** A file or folder the command acts on: the workspace holding it is taken without asking. */
  path?: string;
  /** The workspace already chosen (a tree item's, a caller's): taken as is. */
  root?: string;
  /** 'registry' (default): the served registries; 'git': every git repository (Initialise Registry). */
  among?: 'registry' | 'git';
}

/**
 * The workspace a command works in: the one given, the one holding `path`, the only candidate, or the one
 * the person picks (a QuickPick, only when there are several). Undefined when there is none (the person is
 * told what to do) or the pick is dismissed.
 */
export async function pickWorkspaceRoot(services: ExtensionServices, options: PickRootOptions): Promise<string | undefined> {
  if (options.root) return options.root;
  const all = await services.workspaces();
  const candidates = all.filter((w) => (options.among === 'git' ? w.git : w.governed));
  if (!candidates.length) {
    const anyGit = all.some((w) => w.git);
    void vscode.window.showErrorMessage(
      options.among !== 'git' && anyGit
        ? 'Sovereign: no folder of this window holds a registry. Run "Sovereign: Initialise Registry and Policy" first.'
        : 'Sovereign: open a folder that is a git repository (the registry lives in it). Run `git init` in the folder first.',
    );
    return undefined;
  }
  const holding = options.path ? rootHolding(options.path, candidates.map((w) => w.root)) : undefined;
  if (holding) return holding;
  if (candidates.length === 1) return candidates[0].root;
  const pick = await vscode.window.showQuickPick(
    candidates.map((w) => ({ label: w.name, description: w.root, detail: w.governed ? undefined : 'no registry yet', root: w.root })),
    { title: `${options.title}: which folder?`, placeHolder: 'Each folder has its own registry, policy and audit log' },
  );
  return pick?.root;
}
