// Constructor options: validated once, so the hot path never re-checks them.

export interface SingleflightOptions {
  maxSubscribers?: number;
  maxDuration?: number;
  name?: string;
}

export interface ResolvedOptions {
  /** Callers per flight, leader included; Infinity is stored as the int32 maximum. */
  maxSubscribers: number;
  /** Milliseconds; Infinity disables expiry. */
  maxDuration: number;
  name: string | undefined;
}

export const DEFAULT_MAX_DURATION = 30_000;
/** Largest finite maxSubscribers: the shared subscriber counter is an int32. */
export const MAX_SUBSCRIBERS_LIMIT = 2 ** 31 - 1;
/** Largest finite maxDuration: what a Node timer can wait for. */
export const MAX_DURATION_LIMIT = 2 ** 31 - 1;
export const MAX_NAME_LENGTH = 256;

const KNOWN = new Set(['maxSubscribers', 'maxDuration', 'name']);

function describe(value: unknown): string {
  if (typeof value === 'string') return `a string (${JSON.stringify(value.slice(0, 40))})`;
  if (typeof value === 'number' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  if (value === null) return 'null';
  return typeof value;
}

function checkCount(value: unknown, option: string, limit: number): number {
  if (typeof value !== 'number') {
    throw new TypeError(`Singleflight option "${option}" must be a number, received ${describe(value)}`);
  }
  if (value === Infinity) return value;
  if (!Number.isInteger(value) || value < 1 || value > limit) {
    throw new RangeError(
      `Singleflight option "${option}" must be an integer from 1 to ${limit}, or Infinity; received ${value}`,
    );
  }
  return value;
}

export function resolveOptions(options: unknown): ResolvedOptions {
  if (options === undefined) {
    return { maxSubscribers: MAX_SUBSCRIBERS_LIMIT, maxDuration: DEFAULT_MAX_DURATION, name: undefined };
  }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`Singleflight options must be an object, received ${describe(options)}`);
  }
  const given = options as Record<string, unknown>;
  for (const option of Object.keys(given)) {
    if (!KNOWN.has(option)) {
      throw new TypeError(
        `Unknown Singleflight option "${option}" (known options: maxSubscribers, maxDuration, name)`,
      );
    }
  }

  const maxSubscribers =
    given.maxSubscribers === undefined
      ? Infinity
      : checkCount(given.maxSubscribers, 'maxSubscribers', MAX_SUBSCRIBERS_LIMIT);
  const maxDuration =
    given.maxDuration === undefined
      ? DEFAULT_MAX_DURATION
      : checkCount(given.maxDuration, 'maxDuration', MAX_DURATION_LIMIT);

  let name: string | undefined;
  if (given.name !== undefined) {
    if (typeof given.name !== 'string') {
      throw new TypeError(`Singleflight option "name" must be a string, received ${describe(given.name)}`);
    }
    if (given.name.length === 0 || given.name.length > MAX_NAME_LENGTH) {
      throw new RangeError(
        `Singleflight option "name" must have 1 to ${MAX_NAME_LENGTH} characters, received ${given.name.length}`,
      );
    }
    name = given.name;
  }

  return {
    maxSubscribers: maxSubscribers === Infinity ? MAX_SUBSCRIBERS_LIMIT : maxSubscribers,
    maxDuration,
    name,
  };
}
