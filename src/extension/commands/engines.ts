import * as vscode from 'vscode';
import { basename } from 'node:path';
import { describeError } from '../../core/util/errors';
import { detectGpu, gpuAdvice, renderGpuAdvice } from '../../core/engines/gpu';
import type { ExtensionServices } from '../context';
import type { LocalEngine, LocalEngines } from '../engines/local-engines';

/**
 * Start Local Model / Stop Local Model: supervised `sovereign serve` children on 127.0.0.1. Set Up GPU
 * Acceleration: what GPU this machine has and exactly what to install for it (a Markdown preview).
 */
export function registerEngineCommands(services: ExtensionServices, engines: LocalEngines): void {
  services.context.subscriptions.push(
    vscode.commands.registerCommand('sovereign.startLocalModel', async (uri?: vscode.Uri) => {
      const target =
        uri ??
        (
          await vscode.window.showOpenDialog({
            title: 'Start Local Model',
            openLabel: 'Start',
            canSelectMany: false,
            filters: { 'Models (GGUF, ONNX)': ['gguf', 'onnx'], 'Registry manifests': ['yaml', 'yml'] },
          })
        )?.[0];
      if (!target) return;
      try {
        const url = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `Starting ${basename(target.fsPath)}`, cancellable: true },
          (_progress, token) => engines.start(target.fsPath, token),
        );
        const useIt = 'Use for Completion';
        const choice = await vscode.window.showInformationMessage(`Sovereign: ${basename(target.fsPath)} is serving on ${url}`, useIt);
        if (choice === useIt) {
          const config = vscode.workspace.getConfiguration('sovereign.completion');
          await config.update('modelPath', target.fsPath, vscode.ConfigurationTarget.Workspace);
          await config.update('backend', 'embedded', vscode.ConfigurationTarget.Workspace);
        }
      } catch (err) {
        services.log.error(describeError(err));
        void vscode.window.showErrorMessage(`Sovereign: ${describeError(err)}`, 'Show Log').then((c) => c && services.log.show());
      }
    }),
    vscode.commands.registerCommand('sovereign.stopLocalModel', async (engine?: LocalEngine) => {
      const running = engines.list();
      const target =
        engine?.model ??
        (running.length === 1
          ? running[0].model
          : (await vscode.window.showQuickPick(running.map((e) => ({ label: e.label, description: e.process.stats.url, model: e.model })), { title: 'Stop Local Model' }))?.model);
      if (!target) {
        if (!running.length) void vscode.window.showInformationMessage('Sovereign: no local model is running.');
        return;
      }
      await engines.stop(target);
    }),
    vscode.commands.registerCommand('sovereign.setupGpu', async () => {
      try {
        // The llama.cpp builds that count are the ones next to the extension's node-llama-cpp (its node_modules).
        const detection = await detectGpu({ modulesFrom: services.context.extensionPath });
        const advice = gpuAdvice(detection);
        services.log.info(`GPU set-up: ${advice.status} (${advice.backend}): ${advice.summary}`);
        const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: renderGpuAdvice(detection, advice) });
        await vscode.commands.executeCommand('markdown.showPreview', doc.uri);
        // Returned for tasks, other extensions and tests (`executeCommand` resolves with it).
        return { detection, advice, document: doc.uri.toString() };
      } catch (err) {
        services.log.error(`GPU set-up: ${describeError(err)}`);
        void vscode.window.showErrorMessage(`Sovereign: GPU detection failed: ${describeError(err)}`, 'Show Log').then((c) => c && services.log.show());
        return undefined;
      }
    }),
  );
}
