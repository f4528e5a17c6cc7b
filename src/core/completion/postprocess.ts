import type { FimContext } from './types';

export interface PostprocessOptions {
  stop: readonly string[];
  maxLines: number;
}

export const DEFAULT_POSTPROCESS_OPTIONS: PostprocessOptions = { stop: [], maxLines: 16 };

/**
 * Turns raw model output into a suggestion worth showing, or '' when nothing is. In order:
 * stop tokens and code fences; single line where a block is not being written; lines that repeat the code
 * around the cursor (the line above, the next line); an ending that overlaps the text after the cursor.
 */
export function postprocess(raw: string, ctx: FimContext, options: PostprocessOptions = DEFAULT_POSTPROCESS_OPTIONS): string {
  let text = cutAtStop(raw, options.stop);
  text = stripFences(text);
  if (!ctx.multiline) {
    const nl = text.indexOf('\n');
    // A suggestion that starts with a newline in a single-line spot has nothing to add on this line.
    if (nl === 0) return '';
    if (nl > 0) text = text.slice(0, nl);
  }
  text = dropRepeatedLines(text, ctx);
  text = limitLines(text, options.maxLines);
  text = trimSuffixOverlap(text, ctx.lineSuffix, ctx.suffixBelow);
  // Trailing spaces inside a multi-line suggestion are noise; on its last line they may be intended.
  text = text.split('\n').map((l, i, all) => (i < all.length - 1 ? l.trimEnd() : l)).join('\n');
  if (text.trim() === '') return '';
  return text;
}

export function cutAtStop(text: string, stop: readonly string[]): string {
  let end = text.length;
  for (const s of stop) {
    if (!s) continue;
    const i = text.indexOf(s);
    if (i >= 0 && i < end) end = i;
  }
  return text.slice(0, end);
}

/** Chat-trained models sometimes wrap code in Markdown fences; the editor wants the code. */
function stripFences(text: string): string {
  const m = /^\s*```[\w+-]*\n([\s\S]*?)(\n```\s*)?$/.exec(text);
  return m ? m[1] : text;
}

function dropRepeatedLines(text: string, ctx: FimContext): string {
  const lines = text.split('\n');
  const above = ctx.prefixAbove.split('\n');
  const lineAbove = (above.length >= 2 ? above[above.length - 2] : '').trim();
  const nextLine = ctx.suffixBelow.split('\n', 1)[0]?.trim() ?? '';
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const t = line.trim();
    const isFirst = i === 0;
    // The model rewrote the line above instead of continuing: nothing useful follows.
    if (isFirst && t && (ctx.linePrefix + line).trim() === lineAbove) return '';
    // The model reached code that already follows the cursor: stop before repeating it.
    if (!isFirst && t && t === nextLine) break;
    // A run of identical lines is degenerate repetition.
    if (!isFirst && t && t === lines[i - 1].trim()) break;
    out.push(line);
  }
  return out.join('\n');
}

function limitLines(text: string, maxLines: number): string {
  const lines = text.split('\n');
  return lines.length > maxLines ? lines.slice(0, maxLines).join('\n') : text;
}

/**
 * When the suggestion ends with text the line already has after the cursor (a closing bracket, `);`),
 * the overlap is removed so accepting it does not double it.
 */
export function trimSuffixOverlap(text: string, lineSuffix: string, _suffixBelow: string): string {
  const rest = lineSuffix.trimEnd();
  if (!rest) return text;
  const lastLine = text.slice(text.lastIndexOf('\n') + 1);
  for (let k = Math.min(rest.length, lastLine.length); k > 0; k--) {
    if (lastLine.endsWith(rest.slice(0, k))) return text.slice(0, text.length - k);
  }
  return text;
}
