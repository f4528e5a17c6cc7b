import type { SingleBar } from 'cli-progress';

/** cli-progress is loaded when a bar is first shown (most runs never show one): CLI start stays cheap. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cliProgress = (): typeof import('cli-progress') => require('cli-progress') as typeof import('cli-progress');

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
      const { SingleBar, Presets } = cliProgress();
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
