import { InvalidArgumentError } from './commander.js';

/** Option value parsers: a bad value is a usage error (exit 2) naming what was expected. */

export function positiveInt(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return Number(value);
}

export function nonNegativeInt(value: string): number {
  if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

/** A limit that can be cleared with `none`. */
export function limitOrNone(value: string): number | null {
  return value === 'none' ? null : positiveInt(value);
}

export function daysOrNone(value: string): number | null {
  return value === 'none' ? null : nonNegativeInt(value);
}

/**
 * Parsers whose `none` means null. Commander turns a parser's null into '' (an option given
 * without a value), so program.ts puts the null back before any action runs: an action sees
 * `null` for `--max-calls none`, never ''.
 */
export const NULLABLE_PARSERS: ReadonlySet<unknown> = new Set([limitOrNone, daysOrNone]);

export function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a number between 0 and 1');
  return n;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function oneOfValues<T extends string>(values: readonly T[]): (v: string) => T {
  return (v: string) => {
    if (!(values as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${values.join(', ')}`);
    return v as T;
  };
}
