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

export interface CallOptions {
  /** Aborting it rejects this caller (with signal.reason) without affecting the others. */
  signal?: AbortSignal;
}

function checkCall(key: unknown, work: unknown): void {
  if (typeof key !== 'string') throw keyTypeError(key);
  if (typeof work !== 'function') {
    throw new TypeError(`Singleflight work must be a function, received ${work === null ? 'null' : typeof work}`);
  }
}

function isAbortSignal(value: unknown): value is AbortSignal {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function' &&
    typeof (value as AbortSignal).removeEventListener === 'function'
  );
}

/** The signal of a call's options, validated. */
function callSignal(options: unknown): AbortSignal | undefined {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    const received = options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options;
    throw new TypeError(`Singleflight call options must be an object, received ${received}`);
  }
  for (const option of Object.keys(options)) {
    if (option !== 'signal') throw new TypeError(`Unknown Singleflight call option "${option}" (known options: signal)`);
  }
  const { signal } = options as CallOptions;
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new TypeError('Singleflight call option "signal" must be an AbortSignal');
  }
  return signal;
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
  execute<T>(key: string, work: Work<T>, options?: CallOptions): Promise<T> {
    checkCall(key, work);
    if (options === undefined) return this.group.execute(key, work);
    const signal = callSignal(options);
    return signal === undefined ? this.group.execute(key, work) : this.group.executeWithSignal(key, work, signal);
  }

  /** Like execute(), and tells whether the value was delivered to more than one caller. */
  do<T>(key: string, work: Work<T>, options?: CallOptions): Promise<{ value: T; shared: boolean }> {
    checkCall(key, work);
    return this.group.do(key, work, options === undefined ? undefined : callSignal(options));
  }

  /**
   * Makes the key's flight unjoinable in every thread: the next caller starts a new flight,
   * while callers already waiting keep the old one. Returns whether there was one to forget.
   */
  forget(key: string): boolean {
    if (typeof key !== 'string') throw keyTypeError(key);
    return this.group.forget(key);
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
