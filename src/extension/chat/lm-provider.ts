import * as vscode from 'vscode';
import type { ChatMessage } from '../../core/chat';
import { describeError } from '../../core/util/errors';
import type { ExtensionServices } from '../context';
import { VERSION_PREFIX, type ChatService } from './chat-service';
import { lmProviderApi, type LanguageModelChatInformation, type LanguageModelChatProvider, type LanguageModelChatRequestMessage } from './lm-api';

/** The vendor VS Code knows the workbench's models by (`languageModelChatProviders` in package.json). */
export const LM_VENDOR = 'sovereign';

/** Token limits VS Code is told before a model has started (the serving runtime's default context). */
const DEFAULT_CONTEXT = 4096;

/** Text of a provider message: its text parts, in order (other parts, such as tool calls, carry none here). */
export function messageText(message: LanguageModelChatRequestMessage): string {
  return message.content
    .map((part) => (part instanceof vscode.LanguageModelTextPart ? part.value : typeof (part as { value?: unknown })?.value === 'string' ? (part as { value: string }).value : ''))
    .join('');
}

/** VS Code's roles to the chat roles: User 1, Assistant 2, System 3 (proposed; treated as system). */
export function toChatMessages(messages: readonly LanguageModelChatRequestMessage[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const m of messages) {
    const role: ChatMessage['role'] = m.role === vscode.LanguageModelChatMessageRole.Assistant ? 'assistant' : (m.role as number) === 3 ? 'system' : 'user';
    const content = messageText(m);
    const last = out[out.length - 1];
    // Consecutive messages of one role are one turn to a chat template.
    if (last && last.role === role) last.content += `\n\n${content}`;
    else out.push({ role, content });
  }
  return out;
}

/**
 * The workbench's registered GGUF versions that the workspace policy admits, as VS Code language models
 * (vendor "sovereign"): in VS Code's chat model picker and to other extensions through
 * `vscode.lm.selectChatModels`. A refused version is not offered (the log says why). A request starts the
 * version's supervised `sovereign serve` child if needed, streams its tokens, and stops the engine's
 * generation when the request is cancelled.
 */
export function registerLanguageModels(services: ExtensionServices, chat: ChatService): void {
  const api = lmProviderApi();
  if (!api) {
    services.log.info(`chat: VS Code ${vscode.version} has no vscode.lm.registerLanguageModelChatProvider (VS Code 1.104 or later): the registered models are not offered to VS Code's chat (the Playground works)`);
    return;
  }
  if (!vscode.workspace.getConfiguration('sovereign.chat').get('languageModels', true)) {
    services.log.info('chat: sovereign.chat.languageModels is off: no model is offered to VS Code\'s chat');
    return;
  }
  const changed = new vscode.EventEmitter<void>();
  let lastRefused = '';
  const provider: LanguageModelChatProvider = {
    onDidChangeLanguageModelChatInformation: changed.event,
    async provideLanguageModelChatInformation() {
      const candidates = await chat.candidates();
      const refused = candidates.filter((c) => !c.admitted).map((c) => `${c.ref} (${c.reason})`).join('; ');
      if (refused && refused !== lastRefused) services.log.info(`chat: not offered to VS Code's chat: ${refused}`);
      lastRefused = refused;
      const context = vscode.workspace.getConfiguration('sovereign.engine').get<number>('contextSize', 0) || DEFAULT_CONTEXT;
      return candidates
        .filter((c) => c.admitted)
        .map((c) => ({
          id: c.ref,
          name: c.ref,
          family: c.name,
          version: c.version,
          detail: c.aliases.length ? c.aliases.join(', ') : 'governed local model',
          tooltip: `${c.ref}: registered, admitted by the workspace policy; runs on this machine (${c.manifest})`,
          maxInputTokens: context,
          maxOutputTokens: Math.min(2048, context),
          capabilities: {},
        }));
    },
    async provideLanguageModelChatResponse(model: LanguageModelChatInformation, messages, options, progress, token) {
      const stopper = new AbortController();
      const cancel = token.onCancellationRequested(() => stopper.abort());
      try {
        const target = await chat.resolve(VERSION_PREFIX + model.id, token);
        const m = options.modelOptions ?? {};
        const num = (key: string): number | undefined => (typeof m[key] === 'number' ? (m[key] as number) : undefined);
        const result = await chat.run(target, { messages: toChatMessages(messages), temperature: num('temperature'), topP: num('top_p') ?? num('topP'), maxTokens: num('max_tokens') ?? num('maxTokens') ?? model.maxOutputTokens }, {
          surface: 'lm-api',
          signal: stopper.signal,
          onText: (text) => progress.report(new vscode.LanguageModelTextPart(text)),
        });
        if (result.finish === 'error') throw new Error(`${model.id}: ${result.error ?? 'the model failed'}`);
      } finally {
        cancel.dispose();
      }
    },
    async provideTokenCount(model: LanguageModelChatInformation, text, token) {
      const target = await chat.resolve(VERSION_PREFIX + model.id, token);
      const content = typeof text === 'string' ? text : messageText(text);
      const count = await chat.countTokens(target, content);
      if (count === undefined) throw new Error(`${model.id} could not count tokens`);
      return count;
    },
  };
  try {
    services.context.subscriptions.push(api.registerLanguageModelChatProvider(LM_VENDOR, provider), changed, chat.onDidChange(() => changed.fire()));
    services.log.info(`chat: the admitted registered models are offered to VS Code's chat as vendor "${LM_VENDOR}"`);
  } catch (err) {
    changed.dispose();
    services.log.warn(`chat: VS Code refused the language-model provider: ${describeError(err)}`);
  }
}
