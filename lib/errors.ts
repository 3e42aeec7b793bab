// The errors threadflight itself produces. Each has a stable `code`, and all share one base
// class, so `err instanceof ThreadflightError` tells them from the work's own errors.

/** Renders a key for an error message: quoted, escaped, and cut to a readable length. */
export function describeKey(key: string): string {
  const shown = key.length > 120 ? `${key.slice(0, 120)}…` : key;
  return JSON.stringify(shown);
}

/** Base class of every error threadflight produces. */
export abstract class ThreadflightError extends Error {
  abstract readonly code: string;
}
Object.defineProperty(ThreadflightError.prototype, 'name', { value: 'ThreadflightError' });

/** The flight of `key` already has `maxSubscribers` callers; this caller was turned away. */
export class TooManySubscribersError extends ThreadflightError {
  readonly code = 'ERR_TOO_MANY_SUBSCRIBERS' as const;

  constructor(
    readonly key: string,
    readonly maxSubscribers: number,
  ) {
    super(
      `Too many subscribers for key ${describeKey(key)}: its flight already has ` +
        `${maxSubscribers} caller(s), the maxSubscribers limit`,
    );
  }
}
Object.defineProperty(TooManySubscribersError.prototype, 'name', { value: 'TooManySubscribersError' });

/** The flight of `key` ran longer than `maxDuration` ms (or a cache call's `hardTimeout`);
 * its callers stopped waiting. */
export class FlightTimeoutError extends ThreadflightError {
  readonly code = 'ERR_FLIGHT_TIMEOUT' as const;

  constructor(
    readonly key: string,
    /** The limit that ran out, in ms. */
    readonly maxDuration: number,
    /** Which option set it. */
    readonly limit: 'maxDuration' | 'hardTimeout' = 'maxDuration',
  ) {
    super(`Flight for key ${describeKey(key)} ran longer than ${limit} (${maxDuration} ms)`);
  }
}
Object.defineProperty(FlightTimeoutError.prototype, 'name', { value: 'FlightTimeoutError' });

/** The process could not hold one more flight in the air. */
export class FlightCapacityError extends ThreadflightError {
  readonly code = 'ERR_FLIGHT_CAPACITY' as const;

  constructor(readonly key: string) {
    super(`Cannot start a flight for key ${describeKey(key)}: too many flights are in the air at once`);
  }
}
Object.defineProperty(FlightCapacityError.prototype, 'name', { value: 'FlightCapacityError' });

/** A Singleflight `name` is already in use (in some thread) with other limits. */
export class OptionsMismatchError extends ThreadflightError {
  readonly code = 'ERR_OPTIONS_MISMATCH' as const;

  constructor(
    /** The `name` option both instances share. */
    readonly singleflightName: string,
    message: string,
  ) {
    super(message);
  }
}
Object.defineProperty(OptionsMismatchError.prototype, 'name', { value: 'OptionsMismatchError' });

/** A FlightCache could not keep a value: a named cache shares values between threads as
 * structured clones (and a maxBytes bound measures them so), and this one cannot be cloned. */
export class CacheValueError extends ThreadflightError {
  readonly code = 'ERR_CACHE_VALUE' as const;

  constructor(
    readonly key: string,
    /** The cache's name; undefined for an unnamed cache (which measures values for maxBytes). */
    readonly cacheName: string | undefined,
    cause: unknown,
  ) {
    super(
      `FlightCache${cacheName === undefined ? '' : ` "${cacheName}"`} cannot keep the value of key ${describeKey(key)}: ` +
        `${cacheName === undefined ? 'maxBytes measures values by' : 'other threads receive values as'} ` +
        `their structured clone, and this value cannot be cloned (${describeCause(cause)}). ` +
        'Return plain data (objects, arrays, strings, numbers, Dates, Maps, Sets, typed arrays).',
      { cause },
    );
  }
}
Object.defineProperty(CacheValueError.prototype, 'name', { value: 'CacheValueError' });

function describeCause(cause: unknown): string {
  try {
    return cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  } catch {
    return 'an unreadable error';
  }
}
