import type { DocumentLike } from '../../../src/core/completion/types';

/** A DocumentLike over a string, as VS Code's TextDocument is seen by the core. */
export function textDoc(text: string): DocumentLike & { lines: string[] } {
  const lines = text.split('\n');
  return { lines, lineCount: lines.length, lineText: (i) => lines[i] };
}

/** The document and cursor for a text with a `|` marking the cursor. */
export function withCursor(textWithBar: string): { doc: DocumentLike & { lines: string[] }; pos: { line: number; character: number } } {
  const at = textWithBar.indexOf('|');
  const before = textWithBar.slice(0, at);
  const line = before.split('\n').length - 1;
  const character = at - (before.lastIndexOf('\n') + 1);
  return { doc: textDoc(textWithBar.slice(0, at) + textWithBar.slice(at + 1)), pos: { line, character } };
}
