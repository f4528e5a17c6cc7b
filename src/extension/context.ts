import * as vscode from 'vscode';
import { findWorkspaceRoot } from '../core/workspace/workspace';
import type { WorkerClient } from '../core/worker/client';

/** What every part of the extension shares: built once in activate(), passed explicitly. */
export interface ExtensionServices {
  context: vscode.ExtensionContext;
  log: vscode.LogOutputChannel;
  worker: WorkerClient;
  /** dist/cli.js: the serving runtime and CLI, forked for local engines. */
  cliPath: string;
  /** The git repository root of the first workspace folder that has one (the registry lives there). */
  workspaceRoot(): Promise<string | undefined>;
}

export function createServices(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, worker: WorkerClient): ExtensionServices {
  let cached: Promise<string | undefined> | undefined;
  vscode.workspace.onDidChangeWorkspaceFolders(() => (cached = undefined), undefined, context.subscriptions);
  return {
    context,
    log,
    worker,
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
}
