// coalesce()'s options, validated once, where the middleware is made.
import type { IncomingMessage } from 'node:http';
import type { Coordinator } from '../distributed';
import { isCoordinator } from '../distributed';
import type { Duration } from '../cache/duration';
import { DEFAULT_VARY } from '../../lib/http-policy.cjs';

export interface CoalesceOptions {
  name?: string;
  maxDuration?: number;
  maxSubscribers?: number;
  distributed?: Coordinator;
  methods?: readonly string[];
  vary?: readonly string[];
  key?: (req: IncomingMessage) => string | undefined;
  maxBytes?: number;
  cache?: { ttl: Duration; grace?: Duration | false };
}

const KNOWN = ['name', 'maxDuration', 'maxSubscribers', 'distributed', 'methods', 'vary', 'key', 'maxBytes', 'cache'];
export const DEFAULT_MAX_BYTES = 1024 * 1024;

function fail(option: string, expected: string, value: unknown): never {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : value === null ? 'null' : typeof value;
  throw new TypeError(`coalesce() option "${option}" must be ${expected}, received ${shown}`);
}

function names(value: unknown, option: string, upper: boolean): string[] {
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item.length === 0)) {
    fail(option, 'an array of non-empty strings', value);
  }
  return (value as string[]).map((item) => (upper ? item.toUpperCase() : item.toLowerCase()));
}

export function resolveCoalesceOptions(options: unknown) {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    fail('options', 'an object', options);
  }
  const given = (options ?? {}) as Record<string, unknown>;
  for (const option of Object.keys(given)) {
    if (!KNOWN.includes(option))
      throw new TypeError(`Unknown coalesce() option "${option}" (known options: ${KNOWN.join(', ')})`);
  }
  if (given.key !== undefined && typeof given.key !== 'function')
    fail('key', 'a function (req) => string | undefined', given.key);
  if (given.distributed !== undefined && !isCoordinator(given.distributed)) {
    fail('distributed', 'a coordinator (e.g. redisCoordinator() from threadflight/redis)', given.distributed);
  }
  let maxBytes = DEFAULT_MAX_BYTES;
  if (given.maxBytes !== undefined) {
    if (typeof given.maxBytes !== 'number') fail('maxBytes', 'a number of bytes', given.maxBytes);
    if (given.maxBytes !== Infinity && (!Number.isInteger(given.maxBytes) || given.maxBytes < 0)) {
      throw new RangeError(
        `coalesce() option "maxBytes" must be a non-negative integer or Infinity, received ${given.maxBytes}`,
      );
    }
    maxBytes = given.maxBytes;
  }
  let cache: { ttl: Duration; grace: Duration | false } | undefined;
  if (given.cache !== undefined) {
    const c = given.cache as Record<string, unknown> | null;
    if (c === null || typeof c !== 'object' || c.ttl === undefined)
      fail('cache', 'an object with a ttl ({ ttl, grace? })', c);
    cache = { ttl: c.ttl as Duration, grace: (c.grace ?? 0) as Duration | false };
  }
  return {
    // Validated by Singleflight / FlightCache, which name the option themselves.
    name: given.name as string | undefined,
    maxDuration: given.maxDuration as number | undefined,
    maxSubscribers: given.maxSubscribers as number | undefined,
    distributed: given.distributed,
    methods: new Set(given.methods === undefined ? ['GET', 'HEAD'] : names(given.methods, 'methods', true)),
    vary: given.vary === undefined ? DEFAULT_VARY : names(given.vary, 'vary', false),
    key: given.key as ((req: IncomingMessage) => string | undefined) | undefined,
    maxBytes,
    cache,
  };
}
