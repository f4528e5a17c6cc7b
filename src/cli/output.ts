import { writeFile } from 'node:fs/promises';
import { ioError, UsageError } from '../core/util/errors';

/** Results go to stdout (or --output FILE); progress and logs go to stderr. */
export async function emit(text: string, outputFile?: string): Promise<void> {
  if (outputFile) {
    try {
      await writeFile(outputFile, text);
    } catch (err) {
      throw ioError(err, outputFile, 'write');
    }
  } else {
    await new Promise<void>((resolve) => (process.stdout.write(text) ? resolve() : process.stdout.once('drain', resolve)));
  }
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

export type OutputFormat = 'text' | 'json' | 'sarif';

export function parseFormat(value: string, allowed: readonly OutputFormat[]): OutputFormat {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`unknown format "${value}"`, `use one of: ${allowed.join(', ')}`);
  }
  return value as OutputFormat;
}

/** Messages for people, on stderr. */
export function info(message: string): void {
  process.stderr.write(message + '\n');
}
