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

/** The flight of `key` ran longer than `maxDuration` ms; its callers stopped waiting. */
export class FlightTimeoutError extends ThreadflightError {
  readonly code = 'ERR_FLIGHT_TIMEOUT' as const;

  constructor(
    readonly key: string,
    readonly maxDuration: number,
  ) {
    super(`Flight for key ${describeKey(key)} ran longer than maxDuration (${maxDuration} ms)`);
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
