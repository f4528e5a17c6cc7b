/**
 * A pool of context sequences: each request borrows one and gives it back. When every sequence is busy a
 * request waits its turn (FIFO), and leaves the line if its signal aborts.
 */
export class SequencePool<T> {
  private readonly free: T[];
  private readonly waiting: { resolve: (item: T) => void; reject: (err: unknown) => void; signal: AbortSignal; onAbort: () => void }[] = [];

  constructor(private readonly items: T[]) {
    this.free = [...items];
  }

  get inUse(): number {
    return this.items.length - this.free.length;
  }

  acquire(signal: AbortSignal): Promise<T> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const item = this.free.pop();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise<T>((resolve, reject) => {
      const entry = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const at = this.waiting.indexOf(entry);
          if (at >= 0) this.waiting.splice(at, 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener('abort', entry.onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  release(item: T): void {
    const next = this.waiting.shift();
    if (next) {
      next.signal.removeEventListener('abort', next.onAbort);
      next.resolve(item);
    } else {
      this.free.push(item);
    }
  }
}
