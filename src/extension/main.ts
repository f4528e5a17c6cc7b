import * as vscode from 'vscode';
import { WorkerClient } from '../core/worker/client';
import { registerScanCommands } from './commands/scan';
import { registerEngineCommands } from './commands/engines';
import { registerEngineBuildCommand } from './commands/engine-build';
import { CompletionController } from './completion/controller';
import { createServices } from './context';
import { EnginesView } from './engines/engines-view';
import { LocalEngines } from './engines/local-engines';
import { registerRegistryCommands } from './registry/commands';
import { registerOciCommands } from './registry/oci-commands';
import { ModelsView } from './registry/models-view';
import { RegistryState } from './registry/registry-state';
import { PolicyDiagnostics } from './policy/diagnostics';
import { PolicyQuickFixes } from './policy/quick-fixes';
import { registerWebviews, type SovereignWebviews } from './webviews';
import { DeploymentsView } from './deploy/deployments-view';
import { registerDeployCommands } from './deploy/commands';
import { registerBenchEvalCommands } from './commands/bench-eval';
import { ChatService } from './chat/chat-service';
import { registerChatCommands } from './chat/commands';
import { registerLanguageModels } from './chat/lm-provider';
import { registerCliCommands } from './commands/cli';
import type { Shell } from './lazy';

/**
 * The workbench behind the activation shell (`extension.ts`): loaded on first use, as its own bundle
 * (`dist/extension-main.js`), when a command runs, a view or a restored webview asks for content, completion is
 * first requested, or at once when a folder holds a `.sovereign/` registry (the Models view and the policy
 * diagnostics). The shell's stand-ins are released first, so the real commands and serializers take their ids;
 * the tree views stay the shell's, with the real providers attached. No native module loads here either:
 * models run in supervised child processes; heavy work goes to the core worker thread.
 */
export function start(context: vscode.ExtensionContext, shell: Shell): SovereignApi {
  shell.release();
  const log = vscode.window.createOutputChannel('Sovereign Workbench', { log: true });
  const worker = new WorkerClient(vscode.Uri.joinPath(context.extensionUri, 'dist', 'core-worker.js').fsPath);
  context.subscriptions.push(log, { dispose: () => worker.dispose() });
  const services = createServices(context, log, worker);

  const engines = new LocalEngines(services);
  const completion = new CompletionController(services, engines);
  const enginesView = new EnginesView(engines);
  context.subscriptions.push(engines, completion);
  shell.trees.engines.attach(enginesView);

  const registry = new RegistryState(services);
  const diagnostics = new PolicyDiagnostics(registry);
  const models = new ModelsView(registry);
  shell.trees.models.attach(models);
  context.subscriptions.push(
    registry,
    diagnostics,
    vscode.languages.registerCodeActionsProvider({ pattern: '**/.sovereign/**/*.yaml' }, new PolicyQuickFixes(), { providedCodeActionKinds: PolicyQuickFixes.kinds }),
    vscode.workspace.onDidSaveTextDocument((doc) => {
      if (doc.uri.path.includes('/.sovereign/')) registry.scheduleRefresh(0);
    }),
  );
  void registry.refresh();

  registerScanCommands(context, worker, log);
  registerEngineCommands(services, engines);
  registerEngineBuildCommand(services);
  registerRegistryCommands(services, registry);
  registerOciCommands(services, registry);
  const chat = new ChatService(services, registry, engines);
  context.subscriptions.push(chat);
  // The panel serializers: the shell's stand-ins were released above; a panel being restored is handed on.
  const webviews = registerWebviews(services, registry, chat);
  registerChatCommands(services);
  registerLanguageModels(services, chat);

  const deployments = new DeploymentsView(services);
  const deploymentsTree = shell.trees.deployments;
  deploymentsTree.attach(deployments);
  context.subscriptions.push(deployments, deploymentsTree.view.onDidChangeVisibility((e) => deployments.setVisible(e.visible)));
  if (deploymentsTree.view.visible) deployments.setVisible(true);
  registerDeployCommands(services, registry, deployments);
  registerBenchEvalCommands(services, registry);
  registerCliCommands(services);
  log.info(`Sovereign Workbench loaded (${shell.reason})`);
  // The extension's API (the shell's `api()`): the extension-host tests drive completion and engines through it.
  return { completion, engines, registry, diagnostics, webviews, chat, models, enginesView };
}

export interface SovereignApi {
  completion: CompletionController;
  engines: LocalEngines;
  registry: RegistryState;
  diagnostics: PolicyDiagnostics;
  webviews: SovereignWebviews;
  chat: ChatService;
  /** The Models tree (one folder node per registry in a multi-root window). */
  models: ModelsView;
  /** The Local Engines tree (state, memory, tokens/s, GPU backend and layers offloaded). */
  enginesView: EnginesView;
}
