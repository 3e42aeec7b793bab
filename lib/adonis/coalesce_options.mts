// The options of the coalesce middleware, checked once per options object (a route's
// `middleware.coalesce({...})` passes the same object on every request).
import type { HttpContext } from '@adonisjs/core/http';
import { DEFAULT_VARY } from '../../lib/http-policy.cjs';
import type { Coordinator } from 'threadflight';

export interface CoalesceOptions {
  /** Use the manager's `instances[instance]` (config/threadflight.ts). Not with name/maxDuration/maxSubscribers/distributed. */
  instance?: string;
  /** A Singleflight of the route's own, made from these (name: shared with every worker_thread). */
  name?: string;
  maxDuration?: number;
  maxSubscribers?: number;
  distributed?: Coordinator;
  /** Methods coalesced. Default ['GET', 'HEAD']. */
  methods?: readonly string[];
  /** Request headers whose values are part of the key. Default accept, accept-encoding, accept-language. */
  vary?: readonly string[];
  /**
   * The request's key, in place of method + path + query + vary headers; undefined: this
   * request is not coalesced. With it, requests carrying Authorization or Cookie are coalesced
   * too: the key must then say who is asking.
   */
  key?: (ctx: HttpContext) => string | undefined;
  /** Largest response shared, in bytes of its structured-clone snapshot. Default 1 MiB. */
  maxBytes?: number;
}

/** Options as the middleware uses them. */
export interface CheckedOptions {
  instance: string | undefined;
  own: { name?: string; maxDuration?: number; maxSubscribers?: number; distributed?: Coordinator } | undefined;
  methods: ReadonlySet<string>;
  vary: readonly string[];
  key: ((ctx: HttpContext) => string | undefined) | undefined;
  maxBytes: number;
}

const KNOWN = new Set([
  'instance',
  'name',
  'maxDuration',
  'maxSubscribers',
  'distributed',
  'methods',
  'vary',
  'key',
  'maxBytes',
]);
const OWN = ['name', 'maxDuration', 'maxSubscribers', 'distributed'] as const;

// Conditional and range requests are always part of the key: a 304 or a 206 must never be
// replayed to a client that did not ask for one.
// The default key also covers the conditional and host headers (lib/http-policy.cjs); a range
// request is never coalesced without a key, and if-range goes with it.
const ALWAYS_VARY = ['if-range'];

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function stringList(value: unknown, option: string, check: (item: string) => boolean): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && check(item))) {
    throw new TypeError(
      `coalesce middleware: ${option} must be an array of ${option === 'methods' ? 'HTTP methods' : 'header names'}`,
    );
  }
  return value as string[];
}

function checkMaxBytes(value: unknown): number {
  if (value === undefined) return 1024 * 1024;
  if (typeof value !== 'number' || Number.isNaN(value))
    throw new TypeError('coalesce middleware: maxBytes must be a number');
  if (value < 0 || (!Number.isInteger(value) && value !== Infinity)) {
    throw new RangeError('coalesce middleware: maxBytes must be an integer >= 0, or Infinity');
  }
  return value;
}

function checkOwn(given: Record<string, unknown>): CheckedOptions['own'] {
  const own = OWN.filter((option) => given[option] !== undefined);
  if (own.length === 0) return undefined;
  if (given.instance !== undefined) {
    throw new TypeError(
      `coalesce middleware: instance cannot be combined with ${own.join(', ')} (they make a route's own instance)`,
    );
  }
  // The Singleflight constructor checks each value and names the option.
  return Object.fromEntries(own.map((option) => [option, given[option]]));
}

/** @throws TypeError or RangeError naming the option. */
export function checkOptions(given: CoalesceOptions | undefined): CheckedOptions {
  if (given === undefined) given = {};
  if (typeof given !== 'object' || given === null)
    throw new TypeError('coalesce middleware: options must be an object');
  for (const option of Object.keys(given)) {
    if (!KNOWN.has(option)) throw new TypeError(`coalesce middleware: unknown option "${option}"`);
  }
  const raw = given as Record<string, unknown>;
  if (raw.instance !== undefined && (typeof raw.instance !== 'string' || raw.instance === '')) {
    throw new TypeError(
      'coalesce middleware: instance must be a non-empty string (a key of instances in config/threadflight.ts)',
    );
  }
  if (raw.key !== undefined && typeof raw.key !== 'function')
    throw new TypeError('coalesce middleware: key must be a function');
  const methods = stringList(raw.methods ?? ['GET', 'HEAD'], 'methods', (m) => TOKEN.test(m));
  const vary = stringList(raw.vary ?? DEFAULT_VARY, 'vary', (h) => TOKEN.test(h));
  return {
    instance: raw.instance,
    own: checkOwn(raw),
    methods: new Set(methods.map((m) => m.toUpperCase())),
    vary: [...new Set([...vary.map((h) => h.toLowerCase()), ...ALWAYS_VARY])],
    key: raw.key as CheckedOptions['key'],
    maxBytes: checkMaxBytes(raw.maxBytes),
  };
}
