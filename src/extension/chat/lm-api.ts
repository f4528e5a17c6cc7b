/**
 * The part of VS Code's language-model provider API this extension uses (finalised in VS Code 1.104:
 * `vscode.lm.registerLanguageModelChatProvider` with the `languageModelChatProviders` contribution).
 * @types/vscode here is 1.95 and `engines.vscode` ^1.95.0, which lack it: the types are declared here,
 * checked against code-server 1.139's extension host, and the function is looked up at run time
 * (`lmProviderApi`): where the running VS Code lacks it, the feature is off and the log says so.
 */
import * as vscode from 'vscode';

export interface LanguageModelChatInformation {
  readonly id: string;
  readonly name: string;
  readonly family: string;
  readonly version: string;
  readonly tooltip?: string;
  readonly detail?: string;
  readonly maxInputTokens: number;
  readonly maxOutputTokens: number;
  readonly capabilities: { readonly imageInput?: boolean; readonly toolCalling?: boolean | number };
}

/** A message as a provider receives it: a role and parts (text parts carry `value`). */
export interface LanguageModelChatRequestMessage {
  readonly role: vscode.LanguageModelChatMessageRole;
  readonly content: ReadonlyArray<unknown>;
  readonly name: string | undefined;
}

export interface ProvideLanguageModelChatResponseOptions {
  readonly modelOptions?: { readonly [name: string]: unknown };
}

export interface LanguageModelChatProvider<T extends LanguageModelChatInformation = LanguageModelChatInformation> {
  readonly onDidChangeLanguageModelChatInformation?: vscode.Event<void>;
  provideLanguageModelChatInformation(options: { readonly silent: boolean }, token: vscode.CancellationToken): vscode.ProviderResult<T[]>;
  provideLanguageModelChatResponse(
    model: T,
    messages: readonly LanguageModelChatRequestMessage[],
    options: ProvideLanguageModelChatResponseOptions,
    progress: vscode.Progress<vscode.LanguageModelTextPart>,
    token: vscode.CancellationToken,
  ): Thenable<void>;
  provideTokenCount(model: T, text: string | LanguageModelChatRequestMessage, token: vscode.CancellationToken): Thenable<number>;
}

export interface LmProviderApi {
  registerLanguageModelChatProvider(vendor: string, provider: LanguageModelChatProvider): vscode.Disposable;
}

/** The running VS Code's `vscode.lm` provider registration, or undefined where it lacks it. */
export function lmProviderApi(): LmProviderApi | undefined {
  const lm = (vscode as unknown as { lm?: Partial<LmProviderApi> }).lm;
  const register = lm?.registerLanguageModelChatProvider;
  return typeof register === 'function' ? { registerLanguageModelChatProvider: register.bind(lm) } : undefined;
}
