import * as vscode from 'vscode';
import { shouldSkipAutoTrigger } from '../../core/completion/context';
import { ContextRingBuffer, DEFAULT_RING_BUFFER_OPTIONS } from '../../core/completion/ring-buffer';
import type { CompletionOutcome, CompletionService } from '../../core/completion/service';
import type { DocumentLike } from '../../core/completion/types';
import { isSecretFile } from '../../core/redact';
import { describeError } from '../../core/util/errors';

export interface ProviderHost {
  /** Why nothing was shown (debug log: users asked for completions that never fail silently). */
  trace(message: string): void;
  /**
   * The service for the current backend, waiting while it starts (a local model loading); undefined when
   * completion is off or the backend is unusable (the status bar says why).
   */
  service(token: vscode.CancellationToken): Promise<CompletionService | undefined>;
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
    const service = await this.host.service(token);
    if (token.isCancellationRequested) return this.none('cancelled while the backend started');
    if (!service) return this.none('no backend (disabled or unusable; see the status bar)');
    if (isSecretFile(document.fileName, this.host.ignoredFiles())) return this.none(`${document.fileName} matches sovereign.completion.ignoredFiles: never sent`);
    const lineSuffix = document.lineAt(position.line).text.slice(position.character);
    const automatic = context.triggerKind === vscode.InlineCompletionTriggerKind.Automatic;
    if (automatic && shouldSkipAutoTrigger(lineSuffix)) return this.none('cursor in the middle of text');

    const controller = new AbortController();
    const sub = token.onCancellationRequested(() => controller.abort());
    try {
      const doc: DocumentLike = { lineCount: document.lineCount, lineText: (i) => document.lineAt(i).text };
      const extra = this.ring.snapshot(document.fileName);
      const outcome = await service.complete(doc, { line: position.line, character: position.character }, extra, {
        signal: controller.signal,
        debounce: automatic,
      });
      if (!outcome) return this.none(token.isCancellationRequested ? 'cancelled by the editor' : 'the model suggested nothing useful here');
      if (token.isCancellationRequested) return this.none(`cancelled by the editor after ${Math.round(outcome.latencyMs)} ms`);
      this.host.onOutcome(outcome);
      this.host.trace(`suggestion from ${outcome.source} in ${Math.round(outcome.latencyMs)} ms (${outcome.text.length} chars)`);
      // The document as it is now: the speculation's context is built before this returns.
      void service.speculate(doc, { line: position.line, character: position.character }, outcome.text, extra);
      return [new vscode.InlineCompletionItem(outcome.text, new vscode.Range(position, position))];
    } catch (err) {
      this.host.onError(describeError(err));
      return undefined;
    } finally {
      sub.dispose();
    }
  }

  private none(why: string): undefined {
    this.host.trace(`no suggestion: ${why}`);
    return undefined;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
