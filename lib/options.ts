// What callers pass in, validated where it enters: constructor options once (so the hot path
// never re-checks them), and each call's options. Bad input is a TypeError or RangeError naming
// the option, thrown at the call site.
import { isCoordinator, type Coordinator } from './distributed';
import { protocol } from './protocol';

export interface SingleflightOptions {
  maxSubscribers?: number;
  maxDuration?: number;
  name?: string;
  distributed?: Coordinator;
  traceKeys?: boolean;
  timings?: boolean;
}

export interface ResolvedOptions {
  /** Callers per flight, leader included; Infinity is stored as UNLIMITED_SUBSCRIBERS. */
  maxSubscribers: number;
  /** Milliseconds; Infinity disables expiry. */
  maxDuration: number;
  name: string | undefined;
  distributed: Coordinator | undefined;
  /** Whether the threadflight:execute tracing channel's contexts carry the key. */
  traceKeys: boolean;
  /** Whether to turn the execution and wait time histograms on (see enableTimings). */
  timings: boolean;
}

export const DEFAULT_MAX_DURATION = 30_000;
/** maxSubscribers: Infinity, as stored: the core's limit no count can reach (the shared count
 * is an int32). The core counts a flight's callers differently at it, so it comes from the
 * protocol, not from here. */
export const UNLIMITED_SUBSCRIBERS = protocol.unlimitedSubscribers;
/** Largest maxSubscribers accepted as a number: a limit of it is no limit. */
export const MAX_SUBSCRIBERS_LIMIT = UNLIMITED_SUBSCRIBERS;
/** Largest finite maxDuration: what a Node timer can wait for. */
export const MAX_DURATION_LIMIT = 2 ** 31 - 1;
export const MAX_NAME_LENGTH = 256;
/** Longest key accepted, in UTF-16 code units. */
export const MAX_KEY_LENGTH = 65_536;

const KNOWN = new Set(['maxSubscribers', 'maxDuration', 'name', 'distributed', 'traceKeys', 'timings']);

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
    return {
      maxSubscribers: MAX_SUBSCRIBERS_LIMIT,
      maxDuration: DEFAULT_MAX_DURATION,
      name: undefined,
      distributed: undefined,
      traceKeys: false,
      timings: false,
    };
  }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`Singleflight options must be an object, received ${describe(options)}`);
  }
  const given = options as Record<string, unknown>;
  for (const option of Object.keys(given)) {
    if (!KNOWN.has(option)) {
      throw new TypeError(`Unknown Singleflight option "${option}" (known options: ${[...KNOWN].join(', ')})`);
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

  let distributed: Coordinator | undefined;
  if (given.distributed !== undefined) {
    if (!isCoordinator(given.distributed)) {
      throw new TypeError(
        'Singleflight option "distributed" must be a coordinator (an object with a run method, ' +
          `e.g. redisCoordinator() from threadflight/redis), received ${describe(given.distributed)}`,
      );
    }
    if (name === undefined) {
      throw new TypeError(
        'Singleflight option "distributed" needs a "name": processes share the flights of instances with the same name',
      );
    }
    distributed = given.distributed;
  }

  for (const flag of ['traceKeys', 'timings']) {
    if (given[flag] !== undefined && typeof given[flag] !== 'boolean') {
      throw new TypeError(`Singleflight option "${flag}" must be a boolean, received ${describe(given[flag])}`);
    }
  }
  return {
    maxSubscribers: maxSubscribers === Infinity ? UNLIMITED_SUBSCRIBERS : maxSubscribers,
    maxDuration,
    name,
    distributed,
    traceKeys: given.traceKeys === true,
    timings: given.timings === true,
  };
}

/** Options of one call of execute() or do(). */
export interface CallOptions {
  /** Aborting it rejects this caller (with signal.reason) without affecting the others. */
  signal?: AbortSignal;
}

/** Throws if `key` or `work` cannot be a call's. */
export function checkCall(key: unknown, work: unknown): void {
  if (typeof key !== 'string') throw keyTypeError(key);
  if (typeof work !== 'function') {
    throw new TypeError(`Singleflight work must be a function, received ${describe(work)}`);
  }
}

export function keyTypeError(key: unknown): TypeError {
  return new TypeError(`Singleflight key must be a string, received ${describe(key)}`);
}

/** The signal of a call's options, validated. */
export function callSignal(options: unknown): AbortSignal | undefined {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    const received = Array.isArray(options) ? 'an array' : describe(options);
    throw new TypeError(`Singleflight call options must be an object, received ${received}`);
  }
  for (const option of Object.keys(options)) {
    if (option !== 'signal')
      throw new TypeError(`Unknown Singleflight call option "${option}" (known options: signal)`);
  }
  const { signal } = options as CallOptions;
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new TypeError('Singleflight call option "signal" must be an AbortSignal');
  }
  return signal;
}

export function isAbortSignal(value: unknown): value is AbortSignal {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function' &&
    typeof (value as AbortSignal).removeEventListener === 'function'
  );
}
