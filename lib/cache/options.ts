// What a FlightCache is given, validated where it enters: the constructor's options once, each
// call's options when it has any (a call without options reads the cache's defaults as they are).
import { isCoordinator, type Coordinator } from '../distributed';
import { DEFAULT_MAX_DURATION, isAbortSignal, MAX_DURATION_LIMIT, MAX_SUBSCRIBERS_LIMIT } from '../options';
import { toMs, type Duration } from './duration';

export interface FlightCacheOptions {
  name?: string;
  ttl?: Duration;
  grace?: Duration | false;
  graceBackoff?: Duration;
  timeout?: Duration;
  hardTimeout?: Duration;
  maxEntries?: number;
  maxBytes?: number;
  maxDuration?: number;
  maxSubscribers?: number;
  distributed?: Coordinator;
}

/** What a call's status object is told (lru-cache's `status` convention). */
export interface CacheStatus {
  /** What memory had: a fresh value, a stale one (grace), or nothing usable. */
  get?: 'hit' | 'stale' | 'miss';
  /** How a miss was answered: the factory ran ('factory'; 'skipped' when it asked not to be
   * cached), another flight had stored the value meanwhile ('stored'), or the Redis tier had
   * it ('tier'). */
  fill?: 'factory' | 'skipped' | 'stored' | 'tier';
  /** For a stale value: whether a refresh was started (or joined), or held back after a failure. */
  refresh?: 'started' | 'backoff';
  /** A timeout that decided the answer: 'soft' (the stale value was served), 'hard' (rejected). */
  timeout?: 'soft' | 'hard';
  /** The factory failed and the stale value was served instead. */
  staleIfError?: boolean;
}

export type TtlOption<T> = Duration | ((value: T) => Duration);

export interface GetOrSetOptions<T> {
  ttl?: TtlOption<T>;
  grace?: Duration | false;
  graceBackoff?: Duration;
  timeout?: Duration;
  hardTimeout?: Duration;
  forceFresh?: boolean;
  signal?: AbortSignal;
  status?: CacheStatus;
}

/** A call's settings, every option resolved (the cache's defaults are one of these). */
export interface CallSettings {
  ttl: number | ((value: unknown) => Duration);
  grace: number;
  graceBackoff: number;
  timeout: number;
  /** Infinity: none. */
  hardTimeout: number;
  forceFresh: boolean;
  signal: AbortSignal | undefined;
  status: CacheStatus | undefined;
}

export interface ResolvedCacheOptions {
  name: string | undefined;
  maxEntries: number;
  maxBytes: number;
  maxDuration: number;
  maxSubscribers: number;
  distributed: Coordinator | undefined;
  defaults: CallSettings;
}

export const DEFAULT_TTL = '30m';
export const DEFAULT_GRACE_BACKOFF = '10s';
export const DEFAULT_MAX_ENTRIES = 10_000;
/** Leaves room in a Singleflight name for the cache's prefix. */
export const MAX_CACHE_NAME_LENGTH = 200;

const KNOWN = [
  'name',
  'ttl',
  'grace',
  'graceBackoff',
  'timeout',
  'hardTimeout',
  'maxEntries',
  'maxBytes',
  'maxDuration',
  'maxSubscribers',
  'distributed',
];
const KNOWN_CALL = ['ttl', 'grace', 'graceBackoff', 'timeout', 'hardTimeout', 'forceFresh', 'signal', 'status'];

/** A value as an error message names it. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return `a string (${JSON.stringify(value.slice(0, 40))})`;
  if (typeof value === 'number') return `number ${value}`;
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}

function checkObject(value: unknown, what: string, known: string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${what} must be an object, received ${describe(value)}`);
  }
  for (const option of Object.keys(value)) {
    if (!known.includes(option)) {
      throw new TypeError(`Unknown ${what.toLowerCase()} option "${option}" (known options: ${known.join(', ')})`);
    }
  }
  return value as Record<string, unknown>;
}

function checkLimit(value: unknown, option: string, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number')
    throw new TypeError(`FlightCache option "${option}" must be a number, received ${describe(value)}`);
  if (value === Infinity) return value;
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(
      `FlightCache option "${option}" must be an integer from 1 to ${max}, or Infinity; received ${value}`,
    );
  }
  return value;
}

function grace(value: unknown, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (value === false) return 0;
  return toMs(value, what);
}

function duration(value: unknown, what: string, fallback: number): number {
  return value === undefined ? fallback : toMs(value, what);
}

export function resolveCacheOptions(options: unknown): ResolvedCacheOptions {
  const given = options === undefined ? {} : checkObject(options, 'FlightCache options', KNOWN);
  let name: string | undefined;
  if (given.name !== undefined) {
    if (typeof given.name !== 'string') {
      throw new TypeError(`FlightCache option "name" must be a string, received ${describe(given.name)}`);
    }
    if (given.name.length === 0 || given.name.length > MAX_CACHE_NAME_LENGTH) {
      throw new RangeError(
        `FlightCache option "name" must have 1 to ${MAX_CACHE_NAME_LENGTH} characters, received ${given.name.length}`,
      );
    }
    name = given.name;
  }
  const maxDuration = given.maxDuration === undefined ? DEFAULT_MAX_DURATION : given.maxDuration;
  if (
    typeof maxDuration !== 'number' ||
    !Number.isInteger(maxDuration) ||
    maxDuration < 1 ||
    maxDuration > MAX_DURATION_LIMIT
  ) {
    throw new RangeError(
      `FlightCache option "maxDuration" must be an integer from 1 to ${MAX_DURATION_LIMIT} (a fill must end for a deletion ` +
        `it raced to be honoured); received ${describe(maxDuration)}`,
    );
  }
  let distributed: Coordinator | undefined;
  if (given.distributed !== undefined) {
    if (!isCoordinator(given.distributed)) {
      throw new TypeError(
        'FlightCache option "distributed" must be a coordinator (e.g. redisCoordinator() from threadflight/redis), ' +
          `received ${describe(given.distributed)}`,
      );
    }
    if (name === undefined) {
      throw new TypeError(
        'FlightCache option "distributed" needs a "name": processes share the entries of caches with the same name',
      );
    }
    distributed = given.distributed;
  }
  const hardTimeout =
    given.hardTimeout === undefined ? Infinity : toMs(given.hardTimeout, 'FlightCache option "hardTimeout"', true);
  const defaults: CallSettings = {
    ttl: toMs(given.ttl ?? DEFAULT_TTL, 'FlightCache option "ttl"'),
    grace: grace(given.grace, 'FlightCache option "grace"', 0),
    graceBackoff: toMs(given.graceBackoff ?? DEFAULT_GRACE_BACKOFF, 'FlightCache option "graceBackoff"'),
    timeout: given.timeout === undefined ? 0 : toMs(given.timeout, 'FlightCache option "timeout"', true),
    hardTimeout,
    forceFresh: false,
    signal: undefined,
    status: undefined,
  };
  return {
    name,
    maxEntries: checkLimit(given.maxEntries, 'maxEntries', Number.MAX_SAFE_INTEGER, DEFAULT_MAX_ENTRIES),
    maxBytes: checkLimit(given.maxBytes, 'maxBytes', Number.MAX_SAFE_INTEGER, Infinity),
    maxDuration,
    maxSubscribers: checkLimit(given.maxSubscribers, 'maxSubscribers', MAX_SUBSCRIBERS_LIMIT, Infinity),
    distributed,
    defaults,
  };
}

/** set()'s ttl and grace: its options over the cache's defaults. */
export function resolveSet(options: unknown, defaults: CallSettings): { ttl: number; grace: number } {
  const given = checkObject(options, 'FlightCache set() options', ['ttl', 'grace']);
  return {
    ttl: given.ttl === undefined ? (defaults.ttl as number) : toMs(given.ttl, 'FlightCache set() option "ttl"'),
    grace: grace(given.grace, 'FlightCache set() option "grace"', defaults.grace),
  };
}

/** A call's settings: its options over the cache's defaults. */
export function resolveCall(options: unknown, defaults: CallSettings): CallSettings {
  const given = checkObject(options, 'FlightCache call options', KNOWN_CALL);
  let ttl = defaults.ttl;
  if (typeof given.ttl === 'function') ttl = given.ttl as (value: unknown) => Duration;
  else if (given.ttl !== undefined) ttl = toMs(given.ttl, 'FlightCache call option "ttl"');
  const signal = given.signal;
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new TypeError('FlightCache call option "signal" must be an AbortSignal');
  }
  const status = given.status;
  if (status !== undefined && (status === null || typeof status !== 'object')) {
    throw new TypeError(`FlightCache call option "status" must be an object to fill, received ${describe(status)}`);
  }
  if (given.forceFresh !== undefined && typeof given.forceFresh !== 'boolean') {
    throw new TypeError(
      `FlightCache call option "forceFresh" must be a boolean, received ${describe(given.forceFresh)}`,
    );
  }
  return {
    ttl,
    grace: grace(given.grace, 'FlightCache call option "grace"', defaults.grace),
    graceBackoff: duration(given.graceBackoff, 'FlightCache call option "graceBackoff"', defaults.graceBackoff),
    timeout:
      given.timeout === undefined ? defaults.timeout : toMs(given.timeout, 'FlightCache call option "timeout"', true),
    hardTimeout:
      given.hardTimeout === undefined
        ? defaults.hardTimeout
        : toMs(given.hardTimeout, 'FlightCache call option "hardTimeout"', true),
    forceFresh: given.forceFresh === true,
    signal,
    status,
  };
}
