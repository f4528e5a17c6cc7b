import * as vscode from 'vscode';
import { join } from 'node:path';
import { auditChatTurn, chatCandidates, countTokens, servedModel, streamChat, type ChatCandidate, type ChatMessage, type ChatTarget, type ChatTurnRequest, type ChatTurnResult } from '../../core/chat';
import { allowedEndpoints, loadPolicy } from '../../core/policy/load';
import { describeError, RefusedError, UsageError } from '../../core/util/errors';
import type { GuardedFetchOptions } from '../../core/net/egress';
import type { PlaygroundTarget } from '../../../webview/playground/contract';
import type { ExtensionServices } from '../context';
import type { LocalEngines } from '../engines/local-engines';
import type { RegistryState } from '../registry/registry-state';

/** A backend named in `sovereign.chat.backends`. */
interface BackendSetting {
  label?: string;
  url: string;
  model?: string;
}

export const VERSION_PREFIX = 'version:';
export const BACKEND_PREFIX = 'backend:';

export interface ChatTurnOutcome extends ChatTurnResult {
  /** The chat template the server renders (the model's own), when it says. */
  template?: string;
}

/**
 * What the Playground and VS Code's language-model provider chat with (docs/chat.md): the registered GGUF
 * versions the workspace policy admits, each started on first use as a supervised `sovereign serve` child
 * (the engine gate validates and policy-checks it again), the local models this window runs, and the
 * backends named in `sovereign.chat.backends` (not in this process's care: every turn sent there is
 * redacted). Each turn is audited (metadata only) in a governed workspace.
 */
export class ChatService implements vscode.Disposable {
  private readonly templates = new Map<string, Promise<string | undefined>>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private enginesKey = '';

  constructor(
    private readonly services: ExtensionServices,
    private readonly registry: RegistryState,
    private readonly engines: LocalEngines,
  ) {
    this.disposables.push(
      registry.onDidChange(() => this.changed.fire()),
      // The engines' memory samples (every 5 s) change nothing the Playground shows: fire only when a model
      // starts, stops or changes state (a republish re-renders the view).
      engines.onDidChange(() => {
        const key = JSON.stringify(engines.list().map((e) => [e.model, e.process.stats.state, e.process.stats.url]));
        if (key === this.enginesKey) return;
        this.enginesKey = key;
        this.changed.fire();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => (e.affectsConfiguration('sovereign.chat') ? this.changed.fire() : undefined)),
    );
  }

  /** Registered GGUF versions, admitted or refused (with the reason). */
  async candidates(): Promise<ChatCandidate[]> {
    const snapshot = this.registry.snapshot ?? (await this.registry.refresh());
    return snapshot ? chatCandidates(snapshot) : [];
  }

  async targets(): Promise<{ targets: PlaygroundTarget[]; note?: string }> {
    const candidates = await this.candidates();
    const targets: PlaygroundTarget[] = candidates.map((c) => ({
      id: VERSION_PREFIX + c.ref,
      kind: 'version',
      label: c.ref,
      admitted: c.admitted,
      ...(c.reason ? { reason: c.reason } : {}),
      detail: [c.aliases.length ? c.aliases.join(', ') : undefined, this.engineFor(c) ? 'running' : undefined].filter(Boolean).join(', ') || undefined,
    }));
    const root = await this.services.workspaceRoot();
    for (const e of this.engines.list()) {
      const url = e.process.stats.url;
      if (!url || candidates.some((c) => root && join(root, c.manifest) === e.model)) continue;
      targets.push({ id: BACKEND_PREFIX + url, kind: 'backend', label: `${e.label} (local)`, admitted: true, detail: url });
    }
    for (const b of this.backendSettings()) {
      targets.push({ id: BACKEND_PREFIX + b.url, kind: 'backend', label: b.label ?? b.url, admitted: true, detail: this.isLocalUrl(b.url) ? b.url : `${b.url}: redacted before sending` });
    }
    const note = candidates.length === 0 && !root ? 'Open a git repository with a Sovereign registry to chat with its registered models.' : undefined;
    return { targets, note };
  }

  private backendSettings(): BackendSetting[] {
    const raw = vscode.workspace.getConfiguration('sovereign.chat').get<unknown>('backends', []);
    if (!Array.isArray(raw)) return [];
    return raw.filter((b): b is BackendSetting => typeof b === 'object' && b !== null && typeof (b as BackendSetting).url === 'string' && /^https?:\/\//.test((b as BackendSetting).url));
  }

  private engineFor(c: ChatCandidate): boolean {
    return this.engines.list().some((e) => e.model.endsWith(c.manifest) && e.process.stats.url);
  }

  /** A serve child this window started is in this process's care: nothing it is sent leaves the machine. */
  private isLocalUrl(url: string): boolean {
    const u = url.replace(/\/+$/, '');
    return this.engines.list().some((e) => e.process.stats.url === u);
  }

  /**
   * Where a target id sends its turns. A registered version must be admitted by the policy now (a refused
   * one is never started); it is started (or found running) as a `sovereign serve` child of its manifest.
   */
  async resolve(id: string, token?: vscode.CancellationToken): Promise<ChatTarget> {
    if (id.startsWith(VERSION_PREFIX)) {
      const ref = id.slice(VERSION_PREFIX.length);
      const candidate = (await this.candidates()).find((c) => c.ref === ref);
      if (!candidate) throw new UsageError(`${ref} is not a registered GGUF version of this workspace`, 'register it with Sovereign: Register Model...');
      if (!candidate.admitted) throw new RefusedError(`${ref} cannot be used for chat: ${candidate.reason}`, 'fix the policy violation or request an exception (Sovereign: Show Policy Violations)');
      const root = await this.services.workspaceRoot();
      if (!root) throw new UsageError('no workspace with a registry is open');
      const url = await this.engines.start(join(root, candidate.manifest), token);
      return { url, label: ref, local: true };
    }
    if (id.startsWith(BACKEND_PREFIX)) {
      const url = id.slice(BACKEND_PREFIX.length);
      const setting = this.backendSettings().find((b) => b.url === url);
      const local = this.isLocalUrl(url);
      if (!setting && !local) throw new UsageError(`${url} is not a configured chat backend`, 'add it to the setting sovereign.chat.backends');
      return { url, label: setting?.label ?? url, local, ...(setting?.model ? { model: setting.model } : {}) };
    }
    throw new UsageError(`unknown chat target ${id.slice(0, 100)}`);
  }

  private async egress(): Promise<GuardedFetchOptions> {
    const root = await this.services.workspaceRoot();
    const { policy } = await loadPolicy(root).catch(() => ({ policy: undefined }));
    return { allowed: allowedEndpoints(policy), audit: root ? { root } : undefined, via: 'chat' };
  }

  /** Which template the server renders (asked once per server). */
  template(target: ChatTarget): Promise<string | undefined> {
    let known = this.templates.get(target.url);
    if (!known) {
      known = this.egress().then((egress) => servedModel(target, { egress })).then((m) => m?.chatTemplate);
      this.templates.set(target.url, known);
      void known.then((t) => (t === undefined ? this.templates.delete(target.url) : undefined));
    }
    return known;
  }

  /** One turn: streamed, redacted when the target is not local, audited (metadata only). */
  async run(target: ChatTarget, request: ChatTurnRequest, options: { surface: 'playground' | 'compare' | 'lm-api'; signal?: AbortSignal; onText?: (text: string) => void }): Promise<ChatTurnOutcome> {
    const egress = await this.egress();
    const template = target.local ? this.template(target) : Promise.resolve(undefined);
    const result = await streamChat(target, request, { signal: options.signal, onText: options.onText, egress });
    const root = await this.services.workspaceRoot();
    if (root) {
      try {
        await auditChatTurn(root, { surface: options.surface, target, result });
      } catch (err) {
        this.services.log.warn(`chat: the audit log could not record a turn with ${target.label}: ${describeError(err)}`);
      }
    }
    this.services.log.info(`chat ${options.surface}: ${target.label} ${result.finish}${result.completionTokens !== undefined ? `, ${result.completionTokens} tokens` : ''}, ${Math.round(result.totalMs)} ms${result.redactions ? `, ${result.redactions} redacted` : ''}${result.error ? `: ${result.error}` : ''}`);
    return { ...result, template: await template.catch(() => undefined) };
  }

  async countTokens(target: ChatTarget, text: string, signal?: AbortSignal): Promise<number | undefined> {
    return countTokens(target, text, { signal, egress: await this.egress() });
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

export type { ChatMessage };
