// Durations as callers write them: milliseconds, or a string with a unit ('250ms', '10s',
// '5m', '1h', '1d'), as bentocache and the AdonisJS world write them.
// The longest duration accepted is a Singleflight's longest maxDuration (what a Node timer can
// wait for, about 24.8 days).
import { MAX_DURATION_LIMIT } from '../options';

/** Milliseconds, or a number with a unit: ms, s, m, h, d. */
export type Duration = number | string;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/;

function describe(value: unknown): string {
  if (typeof value === 'string') return `"${value.slice(0, 40)}"`;
  if (typeof value === 'number') return String(value);
  return value === null ? 'null' : typeof value;
}

/**
 * The duration in whole milliseconds. `what` names the option in the error: a TypeError for a
 * value that is not a duration, a RangeError for one out of range (negative, over
 * MAX_DURATION_LIMIT, or Infinity unless `allowInfinity`).
 */
export function toMs(value: unknown, what: string, allowInfinity = false): number {
  let ms: number;
  if (typeof value === 'number') {
    ms = value;
  } else if (typeof value === 'string') {
    const match = PATTERN.exec(value);
    if (match === null) {
      throw new TypeError(
        `${what} must be a number of milliseconds or a duration such as '250ms', '10s', '5m', '1h' or '1d'; received ${describe(value)}`,
      );
    }
    ms = Number(match[1]) * UNIT_MS[match[2]];
  } else {
    throw new TypeError(`${what} must be a number of milliseconds or a duration string; received ${describe(value)}`);
  }
  if (ms === Infinity && allowInfinity) return ms;
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_DURATION_LIMIT) {
    throw new RangeError(
      `${what} must be from 0 to ${MAX_DURATION_LIMIT} ms${allowInfinity ? ', or Infinity' : ''}; received ${describe(value)}`,
    );
  }
  return Math.round(ms);
}
