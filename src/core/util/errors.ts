/**
 * Errors that reach a person. Every one says what is wrong and what to do next; the CLI maps `exitCode`
 * to the process exit status (0 ok, 1 refused / findings / invalid, 2 usage or I/O error).
 */
export class SovereignError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode: 1 | 2 = 2,
  ) {
    super(message);
    this.name = new.target.name;
  }

  /** The message and the hint, as one text for people. */
  describe(): string {
    return this.hint ? `${this.message}\n  hint: ${this.hint}` : this.message;
  }
}

/** Wrong arguments or options. Exit 2. */
export class UsageError extends SovereignError {
  constructor(message: string, hint?: string) {
    super(message, hint, 2);
  }
}

/** A file could not be read or written. Exit 2. */
export class IoError extends SovereignError {
  constructor(message: string, hint?: string) {
    super(message, hint, 2);
  }
}

/** Something was refused: a policy rule, a failed scan, an invalid signature. Exit 1. */
export class RefusedError extends SovereignError {
  constructor(message: string, hint?: string) {
    super(message, hint, 1);
  }
}

/** Turns any thrown value into a one-line message (no stack traces for people). */
export function describeError(err: unknown): string {
  if (err instanceof SovereignError) return err.describe();
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

/** Wraps a Node fs error into an IoError that names the path. */
export function ioError(err: unknown, path: string, action = 'read'): IoError {
  const code = (err as NodeJS.ErrnoException)?.code;
  const why =
    code === 'ENOENT' ? 'no such file or folder'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
    : code === 'EISDIR' ? 'is a folder'
    : describeError(err);
  return new IoError(`cannot ${action} ${path}: ${why}`, code === 'ENOENT' ? 'check the path' : undefined);
}
