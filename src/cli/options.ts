/** Option parsers shared by the commands (commander hands strings over). */
import { UsageError } from '../core/util/errors';

/** A whole-number option within bounds. */
export function intOption(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got "${value}"`);
    return n;
  };
}

/** Seconds (decimals allowed) within bounds, as milliseconds. */
export function secondsOption(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`${name} must be a number of seconds from ${min} to ${max}, got "${value}"`);
    return Math.round(n * 1000);
  };
}

/** A repeatable option: every occurrence, in order. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** One of a fixed set of words; `what` names it in the error (`unknown backend "metal"`). */
export function choiceOption<T extends string>(what: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) throw new UsageError(`unknown ${what} "${value}"`, `use one of: ${choices.join(', ')}`);
    return value as T;
  };
}
