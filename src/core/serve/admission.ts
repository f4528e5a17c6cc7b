/**
 * Admission control: `slots` requests run at once (the engine's parallel sequences); up to `maxWaiting` more
 * wait in line; beyond that a request is turned away at once (503), so a burst never grows memory or latency
 * without bound. A waiting request whose client leaves gives its place up.
 */
export class QueueFullError extends Error {
  constructor(readonly waiting: number) {
    super(`the server is busy: ${waiting} requests are already waiting`);
  }
}

export class AdmissionQueue {
  private running = 0;
  private readonly line: { grant: () => void; fail: (err: unknown) => void }[] = [];

  constructor(
    readonly slots: number,
    readonly maxWaiting: number,
    private readonly onChange: (running: number, waiting: number) => void = () => undefined,
  ) {}

  get waiting(): number {
    return this.line.length;
  }

  get active(): number {
    return this.running;
  }

  /** Resolves with a release function once a slot is free; rejects with QueueFullError or the abort reason. */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.running < this.slots) {
      this.running++;
      this.changed();
      return Promise.resolve(this.releaser());
    }
    if (this.line.length >= this.maxWaiting) return Promise.reject(new QueueFullError(this.line.length));
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          this.running++;
          resolve(this.releaser());
        },
        fail: reject,
      };
      const onAbort = (): void => {
        const at = this.line.indexOf(entry);
        if (at >= 0) this.line.splice(at, 1);
        this.changed();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.line.push(entry);
      this.changed();
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      this.line.shift()?.grant();
      this.changed();
    };
  }

  private changed(): void {
    this.onChange(this.running, this.line.length);
  }
}
