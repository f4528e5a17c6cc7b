import * as vscode from 'vscode';
import { findWorkspaceRoot } from '../core/workspace/workspace';
import type { WorkerClient } from '../core/worker/client';
import { createCoreClient, type CoreClient } from './core-client';

/** What every part of the extension shares: built once in activate(), passed explicitly. */
export interface ExtensionServices {
  context: vscode.ExtensionContext;
  log: vscode.LogOutputChannel;
  worker: WorkerClient;
  /** The one way into the core's services (deployments, benchmarks, evaluation; the worker for heavy work). */
  core: CoreClient;
  /** dist/cli.js: the serving runtime (`sovereign serve`), run as the supervised child of a local engine. */
  cliPath: string;
  /** The git repository root of the first workspace folder that has one (the registry lives there). */
  workspaceRoot(): Promise<string | undefined>;
}

export function createServices(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, worker: WorkerClient): ExtensionServices {
  let cached: Promise<string | undefined> | undefined;
  vscode.workspace.onDidChangeWorkspaceFolders(() => (cached = undefined), undefined, context.subscriptions);
  const services: ExtensionServices = {
    context,
    log,
    worker,
    core: createCoreClient(worker, () => services.workspaceRoot()),
    cliPath: vscode.Uri.joinPath(context.extensionUri, 'dist', 'cli.js').fsPath,
    workspaceRoot() {
      cached ??= (async () => {
        for (const folder of vscode.workspace.workspaceFolders ?? []) {
          if (folder.uri.scheme !== 'file') continue;
          try {
            return await findWorkspaceRoot(folder.uri.fsPath);
          } catch {
            // not a git repository: try the next folder
          }
        }
        return undefined;
      })();
      return cached;
    },
  };
  return services;
}
