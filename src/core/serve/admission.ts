/**
 * Admission control: `slots` requests run at once (the engine's parallel sequences); up to `maxWaiting` more
 * wait in line; beyond that a request is turned away at once (503), so a burst never grows memory or latency
 * without bound. A waiting request whose client leaves gives its place up.
 *
 * The server takes a place with `reserve()` BEFORE it reads a request body, so at most `slots + maxWaiting`
 * bodies are ever held in memory: a request that finds no place is refused without its body being read.
 */
export class QueueFullError extends Error {
  constructor(readonly waiting: number) {
    super(`the server is busy: ${waiting} requests are already waiting`);
  }
}

export class AdmissionQueue {
  private running = 0;
  /** Places taken by requests whose body is still being read. */
  private reserved = 0;
  private readonly line: { grant: () => void; fail: (err: unknown) => void }[] = [];

  constructor(
    readonly slots: number,
    readonly maxWaiting: number,
    private readonly onChange: (running: number, waiting: number) => void = () => undefined,
  ) {}

  /** Requests admitted but not running: waiting for a slot, or still sending their body. */
  get waiting(): number {
    return this.line.length + this.reserved;
  }

  get active(): number {
    return this.running;
  }

  /**
   * Takes a place (running or waiting) now, or throws QueueFullError. The ticket's `acquire` then waits for a
   * slot without a second capacity check; `cancel` gives the place back if the request never runs.
   */
  reserve(): AdmissionTicket {
    if (this.running + this.line.length + this.reserved >= this.slots + this.maxWaiting) throw new QueueFullError(this.line.length + this.reserved);
    this.reserved++;
    this.changed();
    let open = true;
    const giveBack = (): void => {
      if (!open) return;
      open = false;
      this.reserved--;
    };
    return {
      acquire: (signal) => {
        if (!open) return Promise.reject(new Error('the admission ticket was already used'));
        giveBack();
        return this.enter(signal, true);
      },
      cancel: () => {
        if (!open) return;
        giveBack();
        this.changed();
      },
    };
  }

  /** Resolves with a release function once a slot is free; rejects with QueueFullError or the abort reason. */
  acquire(signal: AbortSignal): Promise<() => void> {
    return this.enter(signal, false);
  }

  private enter(signal: AbortSignal, admitted: boolean): Promise<() => void> {
    if (signal.aborted) {
      this.changed();
      return Promise.reject(signal.reason);
    }
    if (this.running < this.slots) {
      this.running++;
      this.changed();
      return Promise.resolve(this.releaser());
    }
    if (!admitted && this.line.length + this.reserved >= this.maxWaiting) return Promise.reject(new QueueFullError(this.line.length + this.reserved));
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
    this.onChange(this.running, this.line.length + this.reserved);
  }
}

/** A place in the admission queue taken before the request body is read. */
export interface AdmissionTicket {
  /** Waits for a slot (the place is already counted); resolves with the release function. */
  acquire(signal: AbortSignal): Promise<() => void>;
  /** Gives the place back when the request ends before it runs (bad body, client gone). */
  cancel(): void;
}
