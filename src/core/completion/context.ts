import { redact } from '../redact';
import type { ContextChunk, CursorPosition, DocumentLike, FimContext } from './types';

export interface ContextOptions {
  /** Prefix window in tokens (approximated, see CHARS_PER_TOKEN). */
  prefixTokens: number;
  /** Suffix window in tokens. */
  suffixTokens: number;
  /** Budget for extra chunks from other files, in tokens. */
  extraTokens: number;
  /** Redact secrets (keys, tokens, passwords, PII) from everything sent. */
  redactSecrets: boolean;
}

export const DEFAULT_CONTEXT_OPTIONS: ContextOptions = { prefixTokens: 1024, suffixTokens: 256, extraTokens: 512, redactSecrets: true };

/**
 * Tokens are approximated from characters: the extension host has no tokenizer for a remote model, and
 * source code averages 3-4 characters per token for BPE vocabularies. 3.5 keeps windows slightly
 * conservative, so the real prompt stays inside the server's context.
 */
export const CHARS_PER_TOKEN = 3.5;

/** Characters past the cursor above which an automatic trigger is skipped (llama.vscode uses 8). */
export const MAX_CHARS_RIGHT_OF_CURSOR = 8;

/**
 * Builds the FIM context around the cursor. Reads only the lines inside the windows, so the cost does
 * not grow with the document (a 5,000-line file costs the same as a 50-line one).
 */
export function buildContext(doc: DocumentLike, pos: CursorPosition, extra: readonly ContextChunk[], options: ContextOptions = DEFAULT_CONTEXT_OPTIONS): FimContext {
  const line = doc.lineText(pos.line);
  const linePrefix = line.slice(0, pos.character);
  const lineSuffix = line.slice(pos.character);

  const prefixBudget = Math.floor(options.prefixTokens * CHARS_PER_TOKEN) - linePrefix.length;
  const above: string[] = [];
  let used = 0;
  for (let i = pos.line - 1; i >= 0; i--) {
    const text = doc.lineText(i);
    if (used + text.length + 1 > prefixBudget) break;
    above.push(text);
    used += text.length + 1;
  }
  above.reverse();

  const suffixBudget = Math.floor(options.suffixTokens * CHARS_PER_TOKEN) - lineSuffix.length;
  const below: string[] = [];
  used = 0;
  for (let i = pos.line + 1; i < doc.lineCount; i++) {
    const text = doc.lineText(i);
    if (used + text.length + 1 > suffixBudget) break;
    below.push(text);
    used += text.length + 1;
  }

  const extraBudget = Math.floor(options.extraTokens * CHARS_PER_TOKEN);
  const chunks: ContextChunk[] = [];
  used = 0;
  for (const chunk of extra) {
    if (used + chunk.text.length > extraBudget) continue;
    chunks.push(chunk);
    used += chunk.text.length;
  }

  const previousLine = above.length ? above[above.length - 1] : '';
  const context: FimContext = {
    prefixAbove: above.length ? above.join('\n') + '\n' : '',
    linePrefix,
    lineSuffix,
    suffixBelow: below.join('\n'),
    extra: chunks,
    multiline: isMultilineSpot(linePrefix, lineSuffix, previousLine),
    redactions: 0,
  };
  return options.redactSecrets ? redactContext(context) : context;
}

/**
 * Multi-line suggestions only where a block is being written: nothing but whitespace right of the cursor,
 * and an empty line or a line that opens a block. Elsewhere a suggestion finishes the current line.
 */
export function isMultilineSpot(linePrefix: string, lineSuffix: string, previousLine: string): boolean {
  if (lineSuffix.trim() !== '') return false;
  const before = linePrefix.trimEnd();
  if (before.trim() === '') return true;
  return /[{([:]$|=>$|\bthen$|\bdo$/.test(before) || (before.trim() === '' && /[{([:]$/.test(previousLine.trimEnd()));
}

/** True when an automatic trigger should be skipped: the cursor sits in the middle of real text. */
export function shouldSkipAutoTrigger(lineSuffix: string): boolean {
  return lineSuffix.trim().length > MAX_CHARS_RIGHT_OF_CURSOR;
}

function redactContext(c: FimContext): FimContext {
  let count = 0;
  const r = (text: string): string => {
    if (!text) return text;
    const out = redact(text);
    count += out.count;
    return out.text;
  };
  const result: FimContext = {
    ...c,
    prefixAbove: r(c.prefixAbove),
    linePrefix: r(c.linePrefix),
    lineSuffix: r(c.lineSuffix),
    suffixBelow: r(c.suffixBelow),
    extra: c.extra.map((chunk) => ({ filename: chunk.filename, text: r(chunk.text) })),
  };
  result.redactions = count;
  return result;
}
