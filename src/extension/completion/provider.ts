import * as vscode from 'vscode';
import { shouldSkipAutoTrigger } from '../../core/completion/context';
import { ContextRingBuffer, DEFAULT_RING_BUFFER_OPTIONS } from '../../core/completion/ring-buffer';
import type { CompletionOutcome, CompletionService } from '../../core/completion/service';
import type { DocumentLike } from '../../core/completion/types';
import { isSecretFile } from '../../core/redact';
import { describeError } from '../../core/util/errors';

export interface ProviderHost {
  /** The service for the current backend, or undefined with the reason (disabled, no model, refused endpoint). */
  service(): CompletionService | undefined;
  ignoredFiles(): readonly string[];
  onOutcome(outcome: CompletionOutcome): void;
  onError(message: string): void;
}

/**
 * The InlineCompletionItemProvider: a thin adapter from VS Code to the core CompletionService.
 * It never sends secret files, feeds the extra-context ring buffer, and maps cancellation to AbortSignal.
 */
export class SovereignInlineCompletionProvider implements vscode.InlineCompletionItemProvider, vscode.Disposable {
  readonly ring: ContextRingBuffer;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly host: ProviderHost) {
    this.ring = new ContextRingBuffer({ ...DEFAULT_RING_BUFFER_OPTIONS, ignorePatterns: host.ignoredFiles() });
    const collect = (doc: vscode.TextDocument, line: number): void => {
      if (doc.uri.scheme !== 'file' && doc.uri.scheme !== 'untitled' && doc.uri.scheme !== 'vscode-remote') return;
      if (doc.lineCount > 20_000) return; // generated files are poor context and costly to slice
      // Only the lines around `line` are read: the ring buffer keeps one chunk of them.
      const from = Math.max(0, line - DEFAULT_RING_BUFFER_OPTIONS.chunkLines);
      const to = Math.min(doc.lineCount, line + DEFAULT_RING_BUFFER_OPTIONS.chunkLines);
      const lines: string[] = [];
      for (let i = from; i < to; i++) lines.push(doc.lineAt(i).text);
      this.ring.addFromFile(doc.fileName, lines, line - from);
    };
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((doc) => collect(doc, 0)),
      vscode.workspace.onDidSaveTextDocument((doc) => {
        const editor = vscode.window.activeTextEditor;
        collect(doc, editor?.document === doc ? editor.selection.active.line : 0);
      }),
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (editor) collect(editor.document, editor.selection.active.line);
      }),
    );
  }

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    const service = this.host.service();
    if (!service) return undefined;
    if (isSecretFile(document.fileName, this.host.ignoredFiles())) return undefined;
    const lineSuffix = document.lineAt(position.line).text.slice(position.character);
    const automatic = context.triggerKind === vscode.InlineCompletionTriggerKind.Automatic;
    if (automatic && shouldSkipAutoTrigger(lineSuffix)) return undefined;

    const controller = new AbortController();
    const sub = token.onCancellationRequested(() => controller.abort());
    try {
      const doc: DocumentLike = { lineCount: document.lineCount, lineText: (i) => document.lineAt(i).text };
      const outcome = await service.complete(doc, { line: position.line, character: position.character }, this.ring.snapshot(document.fileName), {
        signal: controller.signal,
        debounce: automatic,
      });
      if (!outcome || token.isCancellationRequested) return undefined;
      this.host.onOutcome(outcome);
      return [new vscode.InlineCompletionItem(outcome.text, new vscode.Range(position, position))];
    } catch (err) {
      this.host.onError(describeError(err));
      return undefined;
    } finally {
      sub.dispose();
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
