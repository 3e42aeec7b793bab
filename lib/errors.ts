// Typed errors: every failure that threadflight itself produces carries a stable `code`.

/** Renders a key for an error message: quoted, escaped, and cut to a readable length. */
export function describeKey(key: string): string {
  const shown = key.length > 120 ? `${key.slice(0, 120)}…` : key;
  return JSON.stringify(shown);
}

/** The flight of `key` already has `maxSubscribers` callers; this caller was turned away. */
export class TooManySubscribersError extends Error {
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
export class FlightTimeoutError extends Error {
  readonly code = 'ERR_FLIGHT_TIMEOUT' as const;

  constructor(
    readonly key: string,
    readonly maxDuration: number,
  ) {
    super(`Flight for key ${describeKey(key)} ran longer than maxDuration (${maxDuration} ms)`);
  }
}
Object.defineProperty(FlightTimeoutError.prototype, 'name', { value: 'FlightTimeoutError' });

/** The process-wide table could not take one more concurrent flight. */
export class FlightCapacityError extends Error {
  readonly code = 'ERR_FLIGHT_CAPACITY' as const;

  constructor(readonly key: string) {
    super(`Cannot start a flight for key ${describeKey(key)}: too many flights are in the air at once`);
  }
}
Object.defineProperty(FlightCapacityError.prototype, 'name', { value: 'FlightCapacityError' });

/** A Singleflight `name` is already in use (in some thread) with other limits. */
export class OptionsMismatchError extends Error {
  readonly code = 'ERR_OPTIONS_MISMATCH' as const;

  constructor(
    readonly groupName: string,
    message: string,
  ) {
    super(message);
  }
}
Object.defineProperty(OptionsMismatchError.prototype, 'name', { value: 'OptionsMismatchError' });
