import { isSecretFile } from '../redact';
import type { ContextChunk } from './types';

export interface RingBufferOptions {
  /** Chunks kept (llama.vscode: 16). */
  maxChunks: number;
  /** Lines per chunk (llama.vscode: ~32). */
  chunkLines: number;
  /** A new chunk this similar (Jaccard over lines) to an old one replaces it. */
  similarity: number;
  /** Files never collected (globs): secrets never leave the machine, not even to a local server. */
  ignorePatterns?: readonly string[];
}

export const DEFAULT_RING_BUFFER_OPTIONS: RingBufferOptions = { maxChunks: 16, chunkLines: 32, similarity: 0.9 };

/**
 * Extra context from recently opened, saved or edited files: a ring buffer of line chunks, like
 * llama.vscode's. Near-duplicates are evicted so the budget holds distinct code.
 */
export class ContextRingBuffer {
  private readonly chunks: (ContextChunk & { lines: Set<string> })[] = [];

  constructor(private readonly options: RingBufferOptions = DEFAULT_RING_BUFFER_OPTIONS) {}

  /** Adds the chunk of `lines` centred on `aroundLine` (a cursor or an edit). Secret files are ignored. */
  addFromFile(filename: string, lines: readonly string[], aroundLine: number): void {
    if (isSecretFile(filename, this.options.ignorePatterns)) return;
    const half = Math.floor(this.options.chunkLines / 2);
    const start = Math.max(0, Math.min(aroundLine - half, lines.length - this.options.chunkLines));
    const slice = lines.slice(start, start + this.options.chunkLines);
    if (slice.every((l) => l.trim() === '')) return;
    this.add({ filename, text: slice.join('\n') + '\n' });
  }

  add(chunk: ContextChunk): void {
    const lines = new Set(chunk.text.split('\n').map((l) => l.trim()).filter(Boolean));
    for (let i = this.chunks.length - 1; i >= 0; i--) {
      if (jaccard(lines, this.chunks[i].lines) > this.options.similarity) this.chunks.splice(i, 1);
    }
    this.chunks.push({ ...chunk, lines });
    while (this.chunks.length > this.options.maxChunks) this.chunks.shift();
  }

  /** Newest first, excluding the file being edited (its own text is already the prefix/suffix). */
  snapshot(excludeFilename?: string): ContextChunk[] {
    const out: ContextChunk[] = [];
    for (let i = this.chunks.length - 1; i >= 0; i--) {
      const c = this.chunks[i];
      if (c.filename !== excludeFilename) out.push({ filename: c.filename, text: c.text });
    }
    return out;
  }

  get size(): number {
    return this.chunks.length;
  }

  clear(): void {
    this.chunks.length = 0;
  }
}

export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let inter = 0;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const x of small) if (large.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}
