import { CompletionCache, DEFAULT_CACHE_OPTIONS, type CacheOptions } from './cache';
import { buildContext, DEFAULT_CONTEXT_OPTIONS, type ContextOptions } from './context';
import { AdaptiveDebounce, DEFAULT_DEBOUNCE_OPTIONS, type DebounceOptions } from './debounce';
import { postprocess } from './postprocess';
import { fullPrefix, fullSuffix, NoFimSupportError, withInserted, type BackendTimings, type CompletionBackend, type ContextChunk, type CursorPosition, type DocumentLike, type FimContext } from './types';

export interface CompletionSettings {
  maxTokens: number;
  maxTimeMs: number;
  temperature: number;
  stop: string[];
  maxLines: number;
  context: ContextOptions;
  cache: CacheOptions;
  debounce: DebounceOptions;
  /** Characters typed past an in-flight request's prefix that still let it be reused. */
  maxReuseChars: number;
  /** How long a request cancelled by the editor stays alive in case the next keystroke can reuse it. */
  orphanGraceMs: number;
  /**
   * Speculative FIM (llama.vscode does the same): once a suggestion is shown, ask for the one that follows it
   * if it is accepted, so accept-then-continue is served from the cache. Any real request preempts it.
   */
  speculative: boolean;
}

export const DEFAULT_COMPLETION_SETTINGS: CompletionSettings = {
  maxTokens: 128,
  maxTimeMs: 2000,
  temperature: 0.1,
  stop: [],
  maxLines: 16,
  context: DEFAULT_CONTEXT_OPTIONS,
  cache: DEFAULT_CACHE_OPTIONS,
  debounce: DEFAULT_DEBOUNCE_OPTIONS,
  maxReuseChars: 64,
  orphanGraceMs: 250,
  speculative: true,
};

/** Where suggestions came from since the service started (the benchmark's cache-hit rate). */
export interface CompletionStats {
  /** complete() calls that returned a suggestion. */
  served: number;
  cacheHits: number;
  reused: number;
  requests: number;
  /** Speculative requests started, and those whose result a later complete() was served from. */
  speculations: number;
  speculativeHits: number;
}

export interface CompletionOutcome {
  text: string;
  /** Where it came from: the cache, an in-flight request the user typed ahead of, or a new request. */
  source: 'cache' | 'reused' | 'request';
  /** Wall time of this call, the debounce wait included (overheadMs and modelMs split out what is ours and the model's). */
  latencyMs: number;
  /** Time spent in this code (context, cache, post-processing), model time excluded. */
  overheadMs: number;
  /** Time waiting for the model (0 for cache hits). */
  modelMs: number;
  timings?: BackendTimings;
  redactions: number;
  multiline: boolean;
}

export interface CompletionEvents {
  /** Every model request: metadata only (never code), for the status bar and the audit log. */
  onRequest?: (e: { backend: string; endpoint: string; latencyMs: number; ok: boolean; timings?: BackendTimings }) => void;
  /** A problem the user should see once (e.g. the model cannot do FIM). */
  onWarning?: (message: string) => void;
}

interface InFlight {
  /** A speculative request: nobody awaits it; its result goes to the cache. */
  speculative?: boolean;
  /** The backend answered or failed (the slot is about to be released). */
  settled?: boolean;
  ctx: FimContext;
  prefix: string;
  suffix: string;
  controller: AbortController;
  promise: Promise<{ text: string; timings?: BackendTimings }>;
  orphanTimer?: NodeJS.Timeout;
}

/**
 * The inline completion pipeline, free of VS Code: cache (with type-through), adaptive debounce,
 * in-flight reuse, cancellation, the backend call, post-processing. The extension's provider is a thin
 * adapter over it; tests and the overhead benchmark drive it directly.
 */
export class CompletionService {
  readonly cache: CompletionCache;
  readonly debounce: AdaptiveDebounce;
  private inflight: InFlight | undefined;
  private warned = false;
  /** Cache keys filled by speculation and not yet served (to count speculative hits); bounded. */
  private readonly speculated = new Set<string>();
  readonly stats: CompletionStats = { served: 0, cacheHits: 0, reused: 0, requests: 0, speculations: 0, speculativeHits: 0 };

  constructor(
    readonly backend: CompletionBackend,
    readonly settings: CompletionSettings = DEFAULT_COMPLETION_SETTINGS,
    private readonly events: CompletionEvents = {},
  ) {
    this.cache = new CompletionCache(settings.cache);
    this.debounce = new AdaptiveDebounce(settings.debounce);
  }

  /**
   * A suggestion for the cursor, or undefined when there is none (cancelled, nothing useful, no FIM).
   * `debounce: false` skips the typing delay (explicit invocations, tests).
   */
  async complete(doc: DocumentLike, pos: CursorPosition, extra: readonly ContextChunk[], options: { signal?: AbortSignal; debounce?: boolean } = {}): Promise<CompletionOutcome | undefined> {
    const t0 = performance.now();
    const ctx = buildContext(doc, pos, extra, this.settings.context);
    const prefix = fullPrefix(ctx);
    const suffix = fullSuffix(ctx);
    const scope = this.backend.label;

    const cached = this.cache.get(scope, prefix, suffix);
    if (cached !== undefined) {
      const ms = performance.now() - t0;
      this.count('cache', prefix, suffix);
      return { text: cached, source: 'cache', latencyMs: ms, overheadMs: ms, modelMs: 0, redactions: ctx.redactions, multiline: ctx.multiline };
    }
    let overhead = performance.now() - t0;

    const reusable = this.reusableInFlight(prefix, suffix);
    if (!reusable) {
      this.abortInFlight();
      if (options.debounce !== false) {
        const proceed = await AdaptiveDebounce.sleep(this.debounce.next(), options.signal);
        if (!proceed) return undefined;
      }
    }
    const t1 = performance.now();
    const flight = reusable ?? this.startRequest(ctx, prefix, suffix);
    const release = this.adopt(flight, options.signal);
    let raw: { text: string; timings?: BackendTimings };
    try {
      raw = await flight.promise;
    } catch (err) {
      if (err instanceof NoFimSupportError) {
        if (!this.warned) this.events.onWarning?.(err.message);
        this.warned = true;
        return undefined;
      }
      if (options.signal?.aborted || (err as Error).name === 'AbortError') return undefined;
      throw err;
    } finally {
      release();
    }
    const modelMs = performance.now() - t1;

    const t2 = performance.now();
    // The raw text continues the flight's own context: post-process it there and cache it under that key,
    // so type-through serves the rest on later keystrokes.
    const forFlight = postprocess(raw.text, flight.ctx, { stop: this.settings.stop, maxLines: this.settings.maxLines });
    this.cache.set(scope, flight.prefix, flight.suffix, forFlight);
    let text = forFlight;
    if (reusable) {
      const typed = prefix.slice(flight.prefix.length);
      text = forFlight.startsWith(typed) ? forFlight.slice(typed.length) : '';
    }
    overhead += performance.now() - t2;
    if (options.signal?.aborted || text.trim() === '') return undefined;
    this.count(reusable ? 'reused' : 'request', prefix, suffix, reusable?.speculative);
    return {
      text,
      source: reusable ? 'reused' : 'request',
      latencyMs: performance.now() - t0,
      modelMs,
      overheadMs: overhead,
      timings: raw.timings,
      redactions: ctx.redactions,
      multiline: ctx.multiline,
    };
  }

  /**
   * Speculative FIM: `suggestion` is on screen at `pos`; ask now for what follows it once accepted, so that
   * accept-then-continue is a cache hit. Never preempts a real request (skipped while one is in flight), and
   * any real request for another context aborts it. Resolves when the speculation is done (tests, bench).
   */
  async speculate(doc: DocumentLike, pos: CursorPosition, suggestion: string, extra: readonly ContextChunk[]): Promise<void> {
    const busy = this.inflight && !this.inflight.settled && !this.inflight.controller.signal.aborted;
    if (!this.settings.speculative || !suggestion.trim() || busy) return;
    const after = withInserted(doc, pos, suggestion);
    const ctx = buildContext(after.doc, after.pos, extra, this.settings.context);
    const prefix = fullPrefix(ctx);
    const suffix = fullSuffix(ctx);
    if (this.cache.get(this.backend.label, prefix, suffix) !== undefined) return;
    const flight = this.startRequest(ctx, prefix, suffix, true);
    this.stats.speculations++;
    try {
      const raw = await flight.promise;
      const text = postprocess(raw.text, ctx, { stop: this.settings.stop, maxLines: this.settings.maxLines });
      this.cache.set(this.backend.label, prefix, suffix, text);
      this.speculated.add(CompletionCache.key(this.backend.label, prefix, suffix));
      if (this.speculated.size > 64) this.speculated.delete(this.speculated.values().next().value as string);
    } catch {
      // Preempted by a real request, or the backend failed: a speculation is never reported.
    }
  }

  private count(source: CompletionOutcome['source'], prefix: string, suffix: string, fromSpeculation = false): void {
    this.stats.served++;
    if (source === 'cache') this.stats.cacheHits++;
    else if (source === 'reused') this.stats.reused++;
    else this.stats.requests++;
    const key = CompletionCache.key(this.backend.label, prefix, suffix);
    if (fromSpeculation || (source === 'cache' && this.speculated.delete(key))) this.stats.speculativeHits++;
  }

  /** Stops any request in flight (the user left the editor, the backend changed). */
  dispose(): void {
    this.abortInFlight();
  }

  private reusableInFlight(prefix: string, suffix: string): InFlight | undefined {
    const f = this.inflight;
    if (!f || f.controller.signal.aborted || f.suffix !== suffix) return undefined;
    if (!prefix.startsWith(f.prefix)) return undefined;
    const typed = prefix.length - f.prefix.length;
    if (typed > this.settings.maxReuseChars || prefix.slice(f.prefix.length).includes('\n')) return undefined;
    return f;
  }

  private startRequest(ctx: FimContext, prefix: string, suffix: string, speculative = false): InFlight {
    const controller = new AbortController();
    const started = performance.now();
    const promise = this.backend
      .complete({ context: ctx, maxTokens: this.settings.maxTokens, maxTimeMs: this.settings.maxTimeMs, temperature: this.settings.temperature, stop: this.settings.stop }, controller.signal)
      .then(
        (r) => {
          flight.settled = true;
          this.events.onRequest?.({ backend: this.backend.label, endpoint: this.backend.baseUrl, latencyMs: performance.now() - started, ok: true, timings: r.timings });
          return r;
        },
        (err: unknown) => {
          flight.settled = true;
          if (!controller.signal.aborted) this.events.onRequest?.({ backend: this.backend.label, endpoint: this.backend.baseUrl, latencyMs: performance.now() - started, ok: false });
          throw err;
        },
      );
    promise.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
    const flight: InFlight = { speculative, ctx, prefix, suffix, controller, promise };
    this.inflight = flight;
    void promise.finally(() => {
      if (this.inflight === flight) this.inflight = undefined;
      clearTimeout(flight.orphanTimer);
    }).catch(() => undefined);
    return flight;
  }

  /**
   * Ties a flight to a caller's cancellation. When the editor cancels (the user typed on), the request is
   * kept for a short grace period so the next keystroke can reuse it; if none does, it is aborted.
   */
  private adopt(flight: InFlight, signal: AbortSignal | undefined): () => void {
    clearTimeout(flight.orphanTimer);
    flight.orphanTimer = undefined;
    if (!signal) return () => undefined;
    const onAbort = (): void => {
      flight.orphanTimer = setTimeout(() => flight.controller.abort(), this.settings.orphanGraceMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    return () => signal.removeEventListener('abort', onAbort);
  }

  private abortInFlight(): void {
    const f = this.inflight;
    if (f) {
      clearTimeout(f.orphanTimer);
      f.controller.abort();
      this.inflight = undefined;
    }
  }
}
