import { createHash } from 'node:crypto';

export interface CacheOptions {
  maxEntries: number;
  ttlMs: number;
  /** How many typed characters a lookup walks back to find a suggestion being typed through. */
  maxTypeThrough: number;
}

export const DEFAULT_CACHE_OPTIONS: CacheOptions = { maxEntries: 250, ttlMs: 5 * 60_000, maxTypeThrough: 64 };

/**
 * LRU cache of suggestions keyed by (scope, prefix, suffix). A lookup that misses walks the typed text
 * backwards: when the user types the first characters of a suggestion that is on screen, the rest of it
 * is served from the cache without a request (llama.vscode does the same).
 */
export class CompletionCache {
  // A Map keeps insertion order: re-inserting on access makes it an LRU.
  private readonly entries = new Map<string, { text: string; at: number }>();

  constructor(private readonly options: CacheOptions = DEFAULT_CACHE_OPTIONS, private readonly now: () => number = Date.now) {}

  static key(scope: string, prefix: string, suffix: string): string {
    return createHash('sha256').update(scope).update('\0').update(prefix).update('\0').update(suffix).digest('base64');
  }

  set(scope: string, prefix: string, suffix: string, text: string): void {
    const key = CompletionCache.key(scope, prefix, suffix);
    this.entries.delete(key);
    this.entries.set(key, { text, at: this.now() });
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /** The suggestion for exactly this context, or the rest of one the user is typing through. */
  get(scope: string, prefix: string, suffix: string): string | undefined {
    const exact = this.lookup(CompletionCache.key(scope, prefix, suffix));
    if (exact !== undefined) return exact;
    const walk = Math.min(this.options.maxTypeThrough, prefix.length);
    for (let i = 1; i <= walk; i++) {
      const typed = prefix.slice(prefix.length - i);
      if (typed.includes('\n') && i > 1) break; // a suggestion is typed through on one line at a time
      const earlier = this.lookup(CompletionCache.key(scope, prefix.slice(0, prefix.length - i), suffix));
      if (earlier !== undefined && earlier.startsWith(typed) && earlier.length > typed.length) {
        return earlier.slice(typed.length);
      }
    }
    return undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }

  private lookup(key: string): string | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.now() - e.at > this.options.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.text;
  }
}
