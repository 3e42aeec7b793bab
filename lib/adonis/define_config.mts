// config/threadflight.ts: which Singleflight instances and FlightCaches the app's manager holds.
// defineConfig() checks the shape and fills the defaults; the options of each entry are checked
// by the constructors themselves when the manager is made (ThreadflightManager), which then
// prefix their message with the entry's key.
import type { FlightCacheOptions, SingleflightOptions } from 'threadflight';

export interface ThreadflightConfig {
  /** The instance (and cache) that use(), cache(), execute() and remember() take when given no name. Default 'main'. */
  default?: string;
  /** Singleflight instances by key: each becomes `new Singleflight(options)`. Default `{ main: {} }`. */
  instances?: Record<string, SingleflightOptions>;
  /** FlightCaches by key: each becomes `new FlightCache(options)`. Default `{ main: {} }`. */
  caches?: Record<string, FlightCacheOptions>;
}

/** A config as defineConfig() returns it: every key present. */
export interface ResolvedThreadflightConfig {
  default: string;
  instances: Record<string, SingleflightOptions>;
  caches: Record<string, FlightCacheOptions>;
}

const KEYS = new Set(['default', 'instances', 'caches']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function entries(
  given: unknown,
  what: 'instances' | 'caches',
  fallback: string,
): Record<string, Record<string, unknown>> {
  if (given === undefined) return { [fallback]: {} };
  if (!isPlainObject(given)) throw new TypeError(`threadflight config: ${what} must be an object of options by key`);
  for (const [key, options] of Object.entries(given)) {
    if (!isPlainObject(options)) throw new TypeError(`threadflight config: ${what}.${key} must be an options object`);
  }
  return given as Record<string, Record<string, unknown>>;
}

/**
 * Checks the config's shape and fills its defaults.
 * @throws TypeError naming the key that is wrong (an unknown key, a default that names no instance…).
 */
export function defineConfig(config: ThreadflightConfig = {}): ResolvedThreadflightConfig {
  if (!isPlainObject(config)) throw new TypeError('threadflight config: defineConfig() takes an object');
  for (const key of Object.keys(config)) {
    if (!KEYS.has(key))
      throw new TypeError(`threadflight config: unknown key "${key}" (expected default, instances, caches)`);
  }
  const name = config.default ?? 'main';
  if (typeof name !== 'string' || name === '')
    throw new TypeError('threadflight config: default must be a non-empty string');
  const instances = entries(config.instances, 'instances', name);
  const caches = entries(config.caches, 'caches', name);
  // The default must name an entry of each list given, or use() / cache() could not answer.
  if (!(name in instances)) throw new TypeError(`threadflight config: default "${name}" names no entry of instances`);
  if (!(name in caches)) throw new TypeError(`threadflight config: default "${name}" names no entry of caches`);
  return { default: name, instances, caches };
}
