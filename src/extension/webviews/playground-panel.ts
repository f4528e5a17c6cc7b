import * as vscode from 'vscode';
import { savePromptSet } from '../../core/chat';
import { describeError } from '../../core/util/errors';
import type { PlaygroundContract, SavedConversation, SendParams, TurnStats } from '../../../webview/playground/contract';
import { PLAYGROUND_PARAMS } from '../../../webview/playground/schema';
import { restoreConversation, VIEW_TYPES } from '../../../webview/shared/view-state';
import type { ChatService } from '../chat/chat-service';
import type { ExtensionServices } from '../context';
import { PanelSlot, ViewPanel, type PanelOrigin } from './view-panel';

/** workspaceState key of the saved conversation (one per workspace). */
export const CONVERSATION_KEY = 'sovereign.playground.conversation';

/**
 * The Playground (docs/chat.md): the view holds the conversation; each Send becomes a turn the chat
 * service runs (a policy-admitted version in a supervised `sovereign serve` child, or a backend, redacted),
 * streamed back as `delta` notifications and ended with `done` and its figures.
 */
export class PlaygroundPanel extends ViewPanel<PlaygroundContract> {
  private static readonly slot = new PanelSlot<PlaygroundPanel>();
  private readonly turns = new Map<string, AbortController>();

  static get open(): PlaygroundPanel | undefined {
    return PlaygroundPanel.slot.open;
  }

  static show(services: ExtensionServices, chat: ChatService, column?: vscode.ViewColumn): PlaygroundPanel {
    return PlaygroundPanel.slot.show((origin) => new PlaygroundPanel(services, chat, origin), column);
  }

  static revive(services: ExtensionServices, chat: ChatService, panel: vscode.WebviewPanel): PlaygroundPanel {
    return PlaygroundPanel.slot.revive((origin) => new PlaygroundPanel(services, chat, origin), panel);
  }

  private constructor(services: ExtensionServices, private readonly chat: ChatService, origin: PanelOrigin) {
    super(services, { viewType: VIEW_TYPES.playground, bundle: 'playground', title: 'Playground' }, PLAYGROUND_PARAMS, origin);
    this.rpc
      .handle('send', (params) => this.send(params))
      .handle('stop', ({ turnId }) => {
        this.turns.get(turnId)?.abort();
      })
      .handle('saveConversation', async (conversation) => {
        await this.services.context.workspaceState.update(CONVERSATION_KEY, restoreConversation(conversation));
      })
      .handle('copyCode', async ({ code }) => {
        await vscode.env.clipboard.writeText(code);
      })
      .handle('insertCode', async ({ code }) => {
        const editor = vscode.window.visibleTextEditors.find((e) => e === vscode.window.activeTextEditor) ?? vscode.window.visibleTextEditors[0];
        if (!editor) return { ok: false, message: 'Open a file to insert the code into.' };
        const ok = await editor.edit((b) => {
          for (const s of editor.selections) b.replace(s, code);
        });
        return ok ? { ok: true } : { ok: false, message: 'The editor refused the edit.' };
      })
      .handle('openLink', async ({ href }) => {
        let uri: vscode.Uri;
        try {
          uri = vscode.Uri.parse(href, true);
        } catch {
          void vscode.window.showWarningMessage(`Sovereign: the link in the answer is not a valid address: ${href.slice(0, 200)}`);
          return;
        }
        if (uri.scheme !== 'http' && uri.scheme !== 'https') {
          void vscode.window.showWarningMessage(`Sovereign: only http and https links from a model answer are opened, not ${uri.scheme}:`);
          return;
        }
        // A model wrote this link: the person sees the whole address and decides.
        const choice = await vscode.window.showWarningMessage('Open a link from a model answer?', { modal: true, detail: href.slice(0, 2000) }, 'Open');
        if (choice === 'Open') await vscode.env.openExternal(uri);
      })
      .handle('savePromptSet', async ({ name, prompts, maxTokens }) => {
        const root = await this.services.workspaceRoot();
        if (!root) return { ok: false, message: 'Open a git repository with a Sovereign registry: prompt sets go to its .sovereign/prompts/.' };
        try {
          const file = await savePromptSet(root, name, prompts, maxTokens);
          this.services.log.info(`playground: saved ${prompts.length} prompt(s) to ${file}`);
          return { ok: true, file };
        } catch (err) {
          return { ok: false, message: describeError(err) };
        }
      })
      .handle('refresh', () => this.load());
    this.track(this.chat.onDidChange(() => void this.load()), { dispose: () => this.stopAll() });
    this.gate.publish('state', { kind: 'loading' });
    void this.load();
  }

  private selection: string | undefined;

  /** Chooses a target in the view (Chat in Playground on a version). */
  select(target: string): void {
    this.selection = target;
    void this.load();
  }

  /** The turns under way (the extension-host tests watch them). */
  get runningTurns(): number {
    return this.turns.size;
  }

  private async load(): Promise<void> {
    try {
      const { targets, note } = await this.chat.targets();
      const saved = this.services.context.workspaceState.get<unknown>(CONVERSATION_KEY);
      this.gate.publish('state', { kind: 'ready', targets, ...(saved !== undefined ? { conversation: restoreConversation(saved) as SavedConversation } : {}), ...(note ? { note } : {}), ...(this.selection ? { select: this.selection } : {}) });
    } catch (err) {
      this.gate.publish('state', { kind: 'ready', targets: [], note: `The registry could not be read: ${describeError(err)}` });
    }
  }

  private async send(params: SendParams): Promise<{ ok: true } | { ok: false; message: string }> {
    if (this.turns.has(params.turnId)) return { ok: false, message: 'that turn is already running' };
    const stopper = new AbortController();
    this.turns.set(params.turnId, stopper);
    let target;
    try {
      target = await this.chat.resolve(params.target);
    } catch (err) {
      this.turns.delete(params.turnId);
      return { ok: false, message: describeError(err) };
    }
    const { settings } = params;
    const messages = [
      ...(settings.system.trim() ? [{ role: 'system' as const, content: settings.system }] : []),
      ...params.messages.map((m) => ({ role: m.role, content: m.text })),
    ];
    void (async () => {
      let stats: TurnStats;
      try {
        const r = await this.chat.run(target, { messages, temperature: settings.temperature, topP: settings.topP, maxTokens: settings.maxTokens }, {
          surface: params.surface,
          signal: stopper.signal,
          onText: (text) => this.rpc.notify('delta', { turnId: params.turnId, text }),
        });
        stats = {
          finish: r.finish,
          totalMs: r.totalMs,
          redactions: r.redactions,
          ...(r.ttftMs !== undefined ? { ttftMs: r.ttftMs } : {}),
          ...(r.tokensPerSecond !== undefined ? { tokensPerSecond: r.tokensPerSecond } : {}),
          ...(r.promptTokens !== undefined ? { promptTokens: r.promptTokens } : {}),
          ...(r.completionTokens !== undefined ? { completionTokens: r.completionTokens } : {}),
          ...(r.template ? { template: r.template } : {}),
          ...(r.error ? { error: r.error } : {}),
        };
      } catch (err) {
        stats = { finish: 'error', totalMs: 0, redactions: 0, error: describeError(err) };
      } finally {
        this.turns.delete(params.turnId);
      }
      this.rpc.notify('done', { turnId: params.turnId, stats });
    })();
    return { ok: true };
  }

  private stopAll(): void {
    for (const t of this.turns.values()) t.abort();
    this.turns.clear();
  }

  protected override onDisposed(): void {
    this.stopAll();
    PlaygroundPanel.slot.release(this);
  }
}
