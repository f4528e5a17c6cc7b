import * as vscode from 'vscode';
import { basename } from 'node:path';
import { ServeProcess, type ServeState } from '../../core/local/serve-process';
import { rootHolding } from '../../core/workspace/folders';
import type { ExtensionServices } from '../context';

export interface LocalEngine {
  model: string;
  label: string;
  process: ServeProcess;
  startedAt: number;
  tokensPerSecond?: number;
  rssBytes?: number;
}

/**
 * The local models this window runs: supervised `sovereign serve` children on 127.0.0.1. The embedded
 * completion backend and the Local Engines view both read from here.
 */
export class LocalEngines implements vscode.Disposable {
  private readonly engines = new Map<string, LocalEngine>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly memoryTimer: NodeJS.Timeout;

  constructor(private readonly services: ExtensionServices) {
    // Memory is sampled while the view is alive; cheap (/proc read), and only for running engines.
    this.memoryTimer = setInterval(() => void this.sampleMemory(), 5000);
    this.memoryTimer.unref();
  }

  list(): LocalEngine[] {
    return [...this.engines.values()];
  }

  get(model: string): LocalEngine | undefined {
    return this.engines.get(model);
  }

  /** Starts (or returns) the engine for a model file or manifest; resolves with its URL when ready. */
  async start(model: string, token?: vscode.CancellationToken): Promise<string> {
    const existing = this.engines.get(model);
    if (existing?.process.stats.url) return existing.process.stats.url;
    if (existing) await this.stop(model);
    const threads = vscode.workspace.getConfiguration('sovereign.engine').get<number>('threads', 0);
    const contextSize = vscode.workspace.getConfiguration('sovereign.engine').get<number>('contextSize', 0);
    const llamaCpp = vscode.workspace.getConfiguration('sovereign.engine').get<string>('llamaCpp', 'auto');
    const args = [
      ...(threads > 0 ? ['--threads', String(threads)] : []),
      ...(contextSize > 0 ? ['--ctx', String(contextSize)] : []),
      ...(llamaCpp === 'native' || llamaCpp === 'prebuilt' ? ['--llama-cpp', llamaCpp] : []),
    ];
    // The serving runtime works in the workspace that holds the model (its policy, its audit log), else the default one.
    const root = rootHolding(model, (await this.services.workspaces()).map((w) => w.root)) ?? (await this.services.workspaceRoot());
    const proc = new ServeProcess({ cliPath: this.services.cliPath, model, args, cwd: root });
    const engine: LocalEngine = { model, label: basename(model), process: proc, startedAt: Date.now() };
    this.engines.set(model, engine);
    proc.on('log', (line: string) => this.services.log.debug(`[${engine.label}] ${line}`));
    proc.on('state', (state: ServeState) => {
      this.services.log.info(`local model ${engine.label}: ${state}${proc.stats.lastError ? ` (${proc.stats.lastError})` : ''}`);
      if (state === 'failed' && proc.stats.restarts > 0) {
        void vscode.window.showErrorMessage(`Sovereign: the local model ${engine.label} keeps crashing (${proc.stats.lastError}). It was stopped.`);
      }
      this.changed.fire();
    });
    token?.onCancellationRequested(() => void this.stop(model));
    this.changed.fire();
    try {
      return await proc.start();
    } catch (err) {
      this.engines.delete(model);
      this.changed.fire();
      throw err;
    }
  }

  async stop(model: string): Promise<void> {
    const engine = this.engines.get(model);
    if (!engine) return;
    this.engines.delete(model);
    await engine.process.stop();
    this.changed.fire();
  }

  recordSpeed(url: string, tokensPerSecond: number): void {
    for (const e of this.engines.values()) if (e.process.stats.url === url) e.tokensPerSecond = tokensPerSecond;
    this.changed.fire();
  }

  private async sampleMemory(): Promise<void> {
    if (this.engines.size === 0) return;
    for (const e of this.engines.values()) e.rssBytes = await e.process.memory();
    this.changed.fire();
  }

  dispose(): void {
    clearInterval(this.memoryTimer);
    for (const e of this.engines.values()) void e.process.stop();
    this.engines.clear();
    this.changed.dispose();
  }
}
