import * as vscode from 'vscode';
import { WorkerClient } from '../core/worker/client';
import { registerScanCommands } from './commands/scan';
import { registerEngineCommands } from './commands/engines';
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

/**
 * Activation is lazy (commands, views, a workspace with `.sovereign/`) and cheap: no native module loads
 * here. Models run in supervised child processes; heavy work goes to the core worker thread.
 */
export function activate(context: vscode.ExtensionContext): SovereignApi {
  const log = vscode.window.createOutputChannel('Sovereign Workbench', { log: true });
  const worker = new WorkerClient(vscode.Uri.joinPath(context.extensionUri, 'dist', 'core-worker.js').fsPath);
  context.subscriptions.push(log, { dispose: () => worker.dispose() });
  const services = createServices(context, log, worker);

  const engines = new LocalEngines(services);
  const completion = new CompletionController(services, engines);
  const enginesView = new EnginesView(engines);
  context.subscriptions.push(engines, completion, vscode.window.registerTreeDataProvider('sovereign.engines', enginesView));

  const registry = new RegistryState(services);
  const diagnostics = new PolicyDiagnostics(registry);
  const models = new ModelsView(registry);
  context.subscriptions.push(
    registry,
    diagnostics,
    vscode.window.registerTreeDataProvider('sovereign.models', models),
    vscode.languages.registerCodeActionsProvider({ pattern: '**/.sovereign/**/*.yaml' }, new PolicyQuickFixes(), { providedCodeActionKinds: PolicyQuickFixes.kinds }),
    vscode.workspace.onDidSaveTextDocument((doc) => {
      if (doc.uri.path.includes('/.sovereign/')) registry.scheduleRefresh(0);
    }),
  );
  void registry.refresh();

  registerScanCommands(context, worker, log);
  registerEngineCommands(services, engines);
  registerRegistryCommands(services, registry);
  registerOciCommands(services, registry);
  // Also registers the panel serializers (restored after a window reload): synchronously, during activation.
  const chat = new ChatService(services, registry, engines);
  context.subscriptions.push(chat);
  const webviews = registerWebviews(services, registry, chat);
  registerChatCommands(services);
  registerLanguageModels(services, chat);

  const deployments = new DeploymentsView(services);
  const deploymentsTree = vscode.window.createTreeView('sovereign.deployments', { treeDataProvider: deployments });
  context.subscriptions.push(deployments, deploymentsTree, deploymentsTree.onDidChangeVisibility((e) => deployments.setVisible(e.visible)));
  registerDeployCommands(services, registry, deployments);
  registerBenchEvalCommands(services, registry);
  registerCliCommands(services);
  log.info('Sovereign Workbench activated');
  // Returned as the extension's API: the extension-host tests drive completion and engines through it.
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

export function deactivate(): void {}
