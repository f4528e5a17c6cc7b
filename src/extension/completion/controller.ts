import * as vscode from 'vscode';
import { basename } from 'node:path';
import { appendAudit } from '../../core/audit/log';
import { InfillBackend } from '../../core/completion/backends/llama-server';
import { OllamaBackend } from '../../core/completion/backends/ollama';
import { OpenAiBackend } from '../../core/completion/backends/openai';
import { guardedTransport } from '../../core/completion/http';
import { CompletionService, type CompletionOutcome } from '../../core/completion/service';
import type { BackendKind, CompletionBackend } from '../../core/completion/types';
import { checkEndpoint } from '../../core/net/egress';
import { allowedEndpoints, loadPolicy } from '../../core/policy/load';
import { describeError } from '../../core/util/errors';
import type { ExtensionServices } from '../context';
import type { LocalEngines } from '../engines/local-engines';
import { SovereignInlineCompletionProvider } from './provider';
import { readCompletionConfig, type CompletionConfig } from './settings';

export const API_KEY_SECRET = 'sovereign.completion.apiKey';

const BACKEND_LABELS: Record<BackendKind, string> = {
  embedded: 'Embedded engine (local GGUF through llama.cpp)',
  'llama-server': 'llama-server /infill',
  openai: 'OpenAI-compatible /v1/completions',
  ollama: 'Ollama /api/generate',
  staging: 'Staging deployment (sovereign serve in Docker)',
};

/**
 * Owns the completion backend chosen in the settings, the CompletionService over it, the status bar,
 * and the inline completion provider. A backend is only built after its endpoint passes the policy's
 * allowed endpoints and, for the embedded engine, after its model passes the policy.
 */
export class CompletionController implements vscode.Disposable {
  private config: CompletionConfig = readCompletionConfig();
  private service: CompletionService | undefined;
  private building: Promise<void> | undefined;
  private problem: string | undefined;
  private last: CompletionOutcome | undefined;
  private readonly status: vscode.StatusBarItem;
  private readonly provider: SovereignInlineCompletionProvider;
  private readonly disposables: vscode.Disposable[] = [];
  private auditedBackends = new Set<string>();

  constructor(private readonly services: ExtensionServices, private readonly engines: LocalEngines) {
    this.status = vscode.window.createStatusBarItem('sovereign.completion', vscode.StatusBarAlignment.Right, 100);
    this.status.name = 'Sovereign Completion';
    this.status.command = 'sovereign.completion.showStatus';
    this.provider = new SovereignInlineCompletionProvider({
      service: (token) => this.serviceFor(token),
      ignoredFiles: () => this.config.ignoredFiles,
      onOutcome: (o) => this.onOutcome(o),
      onError: (m) => this.onError(m),
      trace: (m) => this.services.log.debug(`completion: ${m}`),
    });
    this.disposables.push(
      this.status,
      this.provider,
      vscode.languages.registerInlineCompletionItemProvider({ pattern: '**' }, this.provider),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('sovereign.completion') || e.affectsConfiguration('sovereign.engine')) this.reset();
      }),
      vscode.commands.registerCommand('sovereign.completion.showStatus', () => this.showStatus()),
      vscode.commands.registerCommand('sovereign.selectCompletionBackend', () => this.selectBackend()),
      vscode.commands.registerCommand('sovereign.completion.setApiKey', () => this.setApiKey()),
    );
    this.render();
    this.status.show();
  }

  /** Answers a request another provider received (the activation shell's stand-in, while the workbench loaded). */
  provide(document: vscode.TextDocument, position: vscode.Position, context: vscode.InlineCompletionContext, token: vscode.CancellationToken): ReturnType<SovereignInlineCompletionProvider['provideInlineCompletionItems']> {
    return this.provider.provideInlineCompletionItems(document, position, context, token);
  }

  /** The service, building it on first use; undefined while building or when the backend is unusable. */
  private currentService(): CompletionService | undefined {
    if (!this.config.enabled) return undefined;
    if (this.service) return this.service;
    this.building ??= this.build().finally(() => (this.building = undefined));
    return undefined;
  }

  /**
   * The service for a completion request: the first request starts the backend (a local model may take
   * seconds to load) and waits for it, unless the user types on (the token is cancelled).
   */
  private async serviceFor(token: vscode.CancellationToken): Promise<CompletionService | undefined> {
    const ready = this.currentService();
    if (ready || !this.building) return ready;
    await Promise.race([this.building, new Promise<void>((resolve) => token.onCancellationRequested(() => resolve()))]);
    return this.service;
  }

  /** Waits for the backend (tests and the "Start Local Model" flow use it). */
  async ready(): Promise<CompletionService | undefined> {
    this.currentService();
    await this.building;
    return this.service;
  }

  private async build(): Promise<void> {
    this.problem = undefined;
    this.render();
    try {
      const backend = await this.createBackend();
      this.service = new CompletionService(backend, this.config.service, {
        onRequest: (e) => void this.audit(e.backend, e.endpoint, e.latencyMs, e.ok),
        onWarning: (m) => {
          this.problem = m;
          this.render();
          void vscode.window.showWarningMessage(`Sovereign: ${m}`);
        },
      });
      this.services.log.info(`completion backend: ${backend.label}`);
      // The request that started the backend may have been cancelled by typing meanwhile: ask again, so the
      // first suggestion shows as soon as the model is ready, without another keystroke.
      if (vscode.window.activeTextEditor) void vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
    } catch (err) {
      this.problem = describeError(err);
      this.services.log.warn(`completion backend unavailable: ${this.problem}`);
    }
    this.render();
  }

  private async createBackend(): Promise<CompletionBackend> {
    const root = await this.services.workspaceRoot();
    const { policy } = await loadPolicy(root).catch(() => ({ policy: undefined }));
    const allowed = allowedEndpoints(policy);
    const transport = guardedTransport({ allowed, audit: root ? { root } : undefined, via: 'completion' });
    const c = this.config;
    const checkUrl = async (url: string): Promise<void> => {
      const check = await checkEndpoint(url, allowed);
      if (!check.allowed) throw new Error(`${check.reason}. Add it to \`endpoints.allowed\` in .sovereign/policy.yaml if it is yours.`);
    };
    switch (c.backend) {
      case 'embedded': {
        if (!c.modelPath) throw new Error('no local model chosen: set `sovereign.completion.modelPath` to a GGUF file or run "Sovereign: Start Local Model"');
        const decision = await this.services.worker.call('checkModelFile', [root, c.modelPath]);
        if (!decision.allowed) throw new Error(`the policy refuses ${basename(c.modelPath)}: ${decision.violations.map((v) => `${v.rule}: ${v.message}`).join('; ')}`);
        const url = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Window, title: `Sovereign: loading ${basename(c.modelPath)}` },
          () => this.engines.start(c.modelPath),
        );
        return new InfillBackend(url, transport, 'embedded', `embedded ${basename(c.modelPath)}`);
      }
      case 'llama-server':
        await checkUrl(c.url);
        return new InfillBackend(c.url, transport);
      case 'staging':
        await checkUrl(c.url);
        return new InfillBackend(c.url, transport, 'staging', `staging ${c.url}`);
      case 'openai': {
        await checkUrl(c.url);
        const key = await this.services.context.secrets.get(API_KEY_SECRET);
        return new OpenAiBackend(c.url, c.model || 'default', transport, c.openaiMode, key ? { authorization: `Bearer ${key}` } : undefined);
      }
      case 'ollama':
        await checkUrl(c.url);
        if (!c.model) throw new Error('set `sovereign.completion.model` to an Ollama model with FIM (e.g. qwen2.5-coder:1.5b-base)');
        return new OllamaBackend(c.url, c.model, transport);
    }
  }

  private reset(): void {
    this.service?.dispose();
    this.service = undefined;
    this.config = readCompletionConfig();
    this.problem = undefined;
    this.render();
  }

  private onOutcome(o: CompletionOutcome): void {
    this.last = o;
    this.problem = undefined;
    const tps = o.timings?.tokensPerSecond;
    if (tps && this.service) this.engines.recordSpeed(this.service.backend.baseUrl, tps);
    this.render();
  }

  private onError(message: string): void {
    this.problem = message;
    this.services.log.warn(`completion failed: ${message}`);
    this.render();
  }

  /** The audit log gets one entry per backend per session: metadata only (never code or prompts). */
  private async audit(backend: string, endpoint: string, latencyMs: number, ok: boolean): Promise<void> {
    if (this.auditedBackends.has(backend)) return;
    this.auditedBackends.add(backend);
    const root = await this.services.workspaceRoot();
    if (!root) return;
    await appendAudit(root, { action: 'completion', subject: backend, details: { endpoint, latencyMs: Math.round(latencyMs), ok } }).catch((err: unknown) =>
      this.services.log.warn(`audit log: ${describeError(err)}`),
    );
  }

  private render(): void {
    const c = this.config;
    const s = this.status;
    if (!c.enabled) {
      s.text = '$(circle-slash) Sovereign';
      s.tooltip = 'Inline completion is off (sovereign.completion.enabled)';
      return;
    }
    const name = this.service?.backend.label ?? BACKEND_LABELS[c.backend];
    if (this.problem) {
      s.text = '$(warning) Sovereign';
      s.tooltip = `${name}\n${this.problem}`;
      s.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
      return;
    }
    s.backgroundColor = undefined;
    if (this.building) {
      s.text = '$(loading~spin) Sovereign';
      s.tooltip = `Starting ${name}`;
      return;
    }
    const parts = [`$(sparkle) ${c.backend}`];
    if (this.last) {
      parts.push(`${Math.round(this.last.latencyMs)} ms`);
      if (this.last.timings?.tokensPerSecond) parts.push(`${this.last.timings.tokensPerSecond.toFixed(0)} t/s`);
    }
    s.text = parts.join(' · ');
    s.tooltip = `${name}${this.last ? `\nlast: ${Math.round(this.last.latencyMs)} ms (${this.last.source})` : ''}\nClick for details or to switch backend/model`;
  }

  private async showStatus(): Promise<void> {
    const c = this.config;
    const o = this.last;
    const details = [
      `Backend: ${this.service?.backend.label ?? BACKEND_LABELS[c.backend]}`,
      o ? `Last: ${Math.round(o.latencyMs)} ms from ${o.source}, model ${Math.round(o.modelMs)} ms, overhead ${o.overheadMs.toFixed(2)} ms${o.timings?.tokensPerSecond ? `, ${o.timings.tokensPerSecond.toFixed(0)} tok/s` : ''}${o.redactions ? `, ${o.redactions} secret(s) redacted` : ''}` : 'No completion yet',
      this.problem ? `Problem: ${this.problem}` : '',
    ].filter(Boolean);
    const pick = await vscode.window.showQuickPick(
      [
        ...details.map((d) => ({ label: d, kind: vscode.QuickPickItemKind.Default, action: '' })),
        { label: '', kind: vscode.QuickPickItemKind.Separator, action: '' },
        { label: '$(arrow-swap) Switch backend...', action: 'backend' },
        { label: '$(file-binary) Choose local model (GGUF)...', action: 'model' },
        { label: c.enabled ? '$(circle-slash) Turn inline completion off' : '$(check) Turn inline completion on', action: 'toggle' },
        { label: '$(output) Show log', action: 'log' },
      ],
      { title: 'Sovereign inline completion' },
    );
    const config = vscode.workspace.getConfiguration('sovereign.completion');
    switch (pick?.action) {
      case 'backend':
        return this.selectBackend();
      case 'model': {
        const files = await vscode.window.showOpenDialog({ title: 'Choose a GGUF model for completion', filters: { 'GGUF models': ['gguf'] }, canSelectMany: false });
        if (files?.[0]) {
          await config.update('modelPath', files[0].fsPath, vscode.ConfigurationTarget.Workspace);
          await config.update('backend', 'embedded', vscode.ConfigurationTarget.Workspace);
        }
        return;
      }
      case 'toggle':
        return config.update('enabled', !c.enabled, vscode.ConfigurationTarget.Global);
      case 'log':
        return this.services.log.show();
    }
  }

  private async selectBackend(): Promise<void> {
    const items = (Object.keys(BACKEND_LABELS) as BackendKind[]).map((k) => ({ label: k, description: BACKEND_LABELS[k], picked: k === this.config.backend }));
    const pick = await vscode.window.showQuickPick(items, { title: 'Completion backend' });
    if (!pick) return;
    const config = vscode.workspace.getConfiguration('sovereign.completion');
    if (pick.label !== 'embedded') {
      const url = await vscode.window.showInputBox({ title: `${pick.description}: base URL`, value: this.config.url, prompt: 'Loopback or a private network address (the policy decides)' });
      if (url === undefined) return;
      await config.update('url', url, vscode.ConfigurationTarget.Workspace);
    }
    await config.update('backend', pick.label, vscode.ConfigurationTarget.Workspace);
  }

  private async setApiKey(): Promise<void> {
    const key = await vscode.window.showInputBox({ title: 'API key for the OpenAI-compatible server', password: true, prompt: 'Stored in VS Code SecretStorage, never in settings or logs' });
    if (key === undefined) return;
    if (key) await this.services.context.secrets.store(API_KEY_SECRET, key);
    else await this.services.context.secrets.delete(API_KEY_SECRET);
    this.reset();
  }

  dispose(): void {
    this.service?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
