export interface DebounceOptions {
  minMs: number;
  maxMs: number;
  initialMs: number;
  /** Weight of the newest typing interval in the moving average. */
  alpha: number;
}

export const DEFAULT_DEBOUNCE_OPTIONS: DebounceOptions = { minMs: 60, maxMs: 600, initialMs: 150, alpha: 0.3 };

/**
 * Adaptive debounce (as Tabby does): the delay follows the user's typing rhythm, so a fast typist is not
 * interrupted by requests for text about to change, and a pause is answered quickly. The delay is 1.5x the
 * moving average of the intervals between keystrokes, clamped to [minMs, maxMs]; pauses longer than maxMs
 * do not count as typing.
 */
export class AdaptiveDebounce {
  private average: number;
  private last: number | undefined;

  constructor(private readonly options: DebounceOptions = DEFAULT_DEBOUNCE_OPTIONS, private readonly now: () => number = Date.now) {
    this.average = options.initialMs / 1.5;
  }

  /** Records a keystroke (a completion request) and returns the delay to wait before asking a model. */
  next(): number {
    const t = this.now();
    if (this.last !== undefined) {
      const interval = t - this.last;
      if (interval <= this.options.maxMs) this.average = this.options.alpha * interval + (1 - this.options.alpha) * this.average;
    }
    this.last = t;
    return this.delay;
  }

  get delay(): number {
    return Math.round(Math.min(this.options.maxMs, Math.max(this.options.minMs, this.average * 1.5)));
  }

  /** Waits `ms`, or resolves false at once when the signal aborts (the user kept typing). */
  static sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve(false);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
