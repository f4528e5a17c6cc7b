import * as vscode from 'vscode';
import { WorkerClient } from '../core/worker/client';
import { registerScanCommands } from './commands/scan';

/**
 * Activation is lazy (commands, views and file types trigger it) and cheap: no native module loads
 * here; the core worker thread starts on first use.
 */
export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Sovereign Workbench', { log: true });
  const worker = new WorkerClient(vscode.Uri.joinPath(context.extensionUri, 'dist', 'core-worker.js').fsPath);
  context.subscriptions.push(log, { dispose: () => worker.dispose() });
  registerScanCommands(context, worker, log);
  log.info('Sovereign Workbench activated');
}

export function deactivate(): void {}
