// The container's 'threadflight.manager': the app's Singleflight instances and FlightCaches by
// config key, and the one-liners of the default ones (execute, isInFlight, remember…).
import { FlightCache, Singleflight } from 'threadflight';
import type { CallOptions, Factory, GetOrSetOptions, TtlOption, Work } from 'threadflight';
import { defineConfig, type ResolvedThreadflightConfig, type ThreadflightConfig } from './define_config.mjs';

/** Runs `create`, prefixing the message of what it throws with the config key it was for. */
function build<T>(where: string, create: () => T): T {
  try {
    return create();
  } catch (error) {
    if (error instanceof Error) error.message = `threadflight config: ${where}: ${error.message}`;
    throw error;
  }
}

function lookup<T>(map: Map<string, T>, name: string, what: 'instances' | 'caches'): T {
  if (typeof name !== 'string') throw new TypeError(`threadflight: the ${what} key must be a string`);
  const found = map.get(name);
  if (found === undefined) {
    throw new RangeError(
      `threadflight: no ${what}.${name} in config/threadflight.ts (has: ${[...map.keys()].join(', ')})`,
    );
  }
  return found;
}

export class ThreadflightManager {
  readonly config: ResolvedThreadflightConfig;
  readonly #instances = new Map<string, Singleflight>();
  readonly #caches = new Map<string, FlightCache>();

  /**
   * Makes every instance and cache of the config at once, so that a wrong option fails when the
   * app boots rather than on some later request.
   * @throws TypeError or RangeError (or OptionsMismatchError) whose message names the config key.
   */
  constructor(config: ThreadflightConfig | ResolvedThreadflightConfig = {}) {
    this.config = defineConfig(config);
    for (const [key, options] of Object.entries(this.config.instances)) {
      this.#instances.set(
        key,
        build(`instances.${key}`, () => new Singleflight(options)),
      );
    }
    for (const [key, options] of Object.entries(this.config.caches)) {
      this.#caches.set(
        key,
        build(`caches.${key}`, () => new FlightCache(options)),
      );
    }
  }

  /** The Singleflight instance of `instances[name]` (the default one without a name). */
  use(name: string = this.config.default): Singleflight {
    return lookup(this.#instances, name, 'instances');
  }

  /** The FlightCache of `caches[name]` (the default one without a name). */
  cache(name: string = this.config.default): FlightCache {
    return lookup(this.#caches, name, 'caches');
  }

  /** execute() of the default instance: runs `work` once for every concurrent caller of `key`. */
  execute<T>(key: string, work: Work<T>, options?: CallOptions): Promise<T> {
    return this.use().execute(key, work, options);
  }

  /** isInFlight() of the default instance. */
  isInFlight(key: string): boolean {
    return this.use().isInFlight(key);
  }

  /** getInFlightCount() of the default instance. */
  getInFlightCount(): number {
    return this.use().getInFlightCount();
  }

  /** remember() of the default cache: ttl in ms or a duration such as '10m'. */
  remember<T>(key: string, ttl: TtlOption<T>, factory: Factory<T>): Promise<T> {
    return this.cache().remember(key, ttl, factory);
  }

  /** getOrSet() of the default cache. */
  getOrSet<T>(key: string, factory: Factory<T>, options?: GetOrSetOptions<T>): Promise<T> {
    return this.cache().getOrSet(key, factory, options);
  }

  /**
   * Called by the provider when the app terminates: every cache stops hearing of other
   * processes' deletions (a Redis tier's subscription would otherwise keep the process alive).
   * Flights in the air are left to settle: their callers still get their outcome.
   */
  close(): void {
    for (const cache of this.#caches.values()) cache.close();
  }
}
