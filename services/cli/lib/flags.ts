/** Flag values checked the same way by every command: a bad one is a UsageError (exit 2) naming the flag. */
import { parseDuration } from '../../core/duration.js';
import { UsageError } from './usage.js';

/** An integer flag from `min` to `max`. */
export function intFlag(flag: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${flag} must be an integer ${range} (got ${JSON.stringify(value)})`);
  return n;
}

/** A positive duration flag (`90s`, `5m`, `1500ms`; a bare number is seconds). */
export function durationFlag(flag: string, value: string): number {
  const ms = parseDuration(value, 's');
  if (ms === undefined)
    throw new UsageError(`${flag} must be a duration like 90s, 5m or 1500ms (got ${JSON.stringify(value)})`);
  if (ms <= 0) throw new UsageError(`${flag} must be positive`);
  return ms;
}
