import * as vscode from 'vscode';
import type { WorkerClient } from '../../core/worker/client';
import { isBlocking, worstSeverity } from '../../core/formats/findings';
import { renderScanText } from '../../core/scan/render';
import { renderFacts } from '../../core/formats/render';

/** Scan Model..., Inspect Model... and Hash: pickers in front, the core worker thread behind. */
export function registerScanCommands(context: vscode.ExtensionContext, worker: WorkerClient, log: vscode.LogOutputChannel): void {
  const pickModel = async (uri: vscode.Uri | undefined, title: string, folders: boolean): Promise<vscode.Uri[] | undefined> => {
    if (uri) return [uri];
    return vscode.window.showOpenDialog({ title, canSelectFiles: true, canSelectFolders: folders, canSelectMany: folders, openLabel: title });
  };

  context.subscriptions.push(
    vscode.commands.registerCommand('sovereign.scanModel', async (uri?: vscode.Uri) => {
      const targets = await pickModel(uri, 'Scan Model', true);
      if (!targets?.length) return;
      const report = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Scanning model files', cancellable: true },
        (progress) =>
          worker.call('scan', [targets.map((t) => t.fsPath)], (message) => progress.report({ message: vscode.workspace.asRelativePath(message) })),
      );
      const text = renderScanText(report, true);
      log.info(text);
      const findings = report.files.flatMap((f) => f.findings);
      const worst = worstSeverity(findings);
      const summary = `${report.files.length} file(s) scanned: ${worst && isBlocking(worst) ? `BLOCKED (${worst})` : 'nothing high or critical'}`;
      const show = 'Show Report';
      const choice = worst && isBlocking(worst) ? await vscode.window.showErrorMessage(summary, show) : await vscode.window.showInformationMessage(summary, show);
      if (choice === show) {
        const doc = await vscode.workspace.openTextDocument({ content: text, language: 'log' });
        await vscode.window.showTextDocument(doc);
      }
      // Returned for other extensions, tasks and tests (`executeCommand` resolves with it).
      return report;
    }),
    vscode.commands.registerCommand('sovereign.inspectModel', async (uri?: vscode.Uri) => {
      const targets = await pickModel(uri, 'Inspect Model', false);
      if (!targets?.length) return;
      const analysis = await worker.call('inspect', [targets[0].fsPath]);
      const doc = await vscode.workspace.openTextDocument({ content: renderFacts(targets[0].fsPath, analysis.size, analysis), language: 'yaml' });
      await vscode.window.showTextDocument(doc);
    }),
  );
}
