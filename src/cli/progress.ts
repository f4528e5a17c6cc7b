import { SingleBar, Presets } from 'cli-progress';

/**
 * A progress bar on stderr, shown only when stderr is a terminal (CI logs and pipes stay clean) and only
 * for work that runs past a second.
 */
export class Progress {
  private bar: SingleBar | undefined;
  private readonly started = Date.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(value: number, detail = ''): void {
    if (!process.stderr.isTTY) return;
    if (!this.bar) {
      if (Date.now() - this.started < 1000) return;
      this.bar = new SingleBar(
        { format: `${this.label} [{bar}] {value}/{total} {detail}`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
        Presets.shades_classic,
      );
      this.bar.start(this.total, value, { detail });
    }
    this.bar.update(value, { detail });
  }

  stop(): void {
    this.bar?.stop();
  }
}
