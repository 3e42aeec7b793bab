// Singleflight: the public coalescing API. Instances are thin: the per-thread state of their
// table lives in a ThreadGroup, shared by every instance of the same name in this thread.
import { OptionsMismatchError } from './errors';
import type { Work } from './flight';
import { resolveOptions, type SingleflightOptions } from './options';
import { ThreadGroup } from './thread-group';

export { MAX_KEY_LENGTH } from './thread-group';
export type { Work } from './flight';

export interface SingleflightStats {
  inFlightCount: number;
  totalSubscribers: number;
  oldestCallAge: number | null;
  cloneFailures: number;
}

/** This thread's groups by name; a name's group lives as long as the thread. */
const namedGroups = new Map<string, ThreadGroup>();

function describeLimits(maxSubscribers: number, maxDuration: number): string {
  return `maxSubscribers ${maxSubscribers === 2 ** 31 - 1 ? 'Infinity' : maxSubscribers}, maxDuration ${
    maxDuration === Infinity ? 'Infinity' : `${maxDuration} ms`
  }`;
}

function keyTypeError(key: unknown): TypeError {
  return new TypeError(`Singleflight key must be a string, received ${key === null ? 'null' : typeof key}`);
}

export class Singleflight {
  private readonly group: ThreadGroup;

  constructor(options?: SingleflightOptions) {
    const resolved = resolveOptions(options);
    const name = resolved.name;
    if (name === undefined) {
      this.group = new ThreadGroup(resolved);
      return;
    }
    const existing = namedGroups.get(name);
    if (existing === undefined) {
      this.group = new ThreadGroup(resolved);
      namedGroups.set(name, this.group);
      return;
    }
    if (existing.subscriberLimit !== resolved.maxSubscribers || existing.maxDuration !== resolved.maxDuration) {
      throw new OptionsMismatchError(
        name,
        `Singleflight name "${name}" is already in use with ${describeLimits(existing.subscriberLimit, existing.maxDuration)}; ` +
          `this instance asked for ${describeLimits(resolved.maxSubscribers, resolved.maxDuration)}. ` +
          'Instances sharing a name must use the same options.',
      );
    }
    this.group = existing;
  }

  /** The name given at construction, if any. */
  get name(): string | undefined {
    return this.group.name;
  }

  /** Callers allowed per flight, leader included (Infinity when unlimited). */
  get maxSubscribers(): number {
    return this.group.maxSubscribers;
  }

  /** Milliseconds a flight may run before its callers get FlightTimeoutError. */
  get maxDuration(): number {
    return this.group.maxDuration;
  }

  /**
   * Runs `work` for `key` unless a flight for `key` is already in the air — in this thread or,
   * for a named instance, in any thread — in which case the caller joins it. See index.d.ts.
   */
  execute<T>(key: string, work: Work<T>): Promise<T> {
    if (typeof key !== 'string') throw keyTypeError(key);
    if (typeof work !== 'function') {
      throw new TypeError(`Singleflight work must be a function, received ${work === null ? 'null' : typeof work}`);
    }
    return this.group.execute(key, work);
  }

  getStats(): SingleflightStats {
    return this.group.stats();
  }

  isInFlight(key: string): boolean {
    if (typeof key !== 'string') throw keyTypeError(key);
    return this.group.isInFlight(key);
  }

  getInFlightCount(): number {
    return this.group.inFlightCount();
  }

  clear(): void {
    this.group.clear();
  }
}
