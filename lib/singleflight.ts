// Singleflight: the public coalescing API.
//
// Each instance keeps a thread-local Map of the flights it leads, so a duplicate caller in
// the same thread is served by one Map lookup and one atomic increment, without calling
// into C++. Only a miss (a new flight) and its settlement cross into the native table,
// which is process-global and is where flights are counted, identified and expired.
import { FlightCapacityError, FlightTimeoutError, TooManySubscribersError, describeKey } from './errors';
import * as native from './native';
import { resolveOptions, type SingleflightOptions } from './options';

/** Longest key accepted, in UTF-16 code units. */
export const MAX_KEY_LENGTH = 65_536;

export type Work<T> = (signal: AbortSignal) => T | PromiseLike<T>;

export interface SingleflightStats {
  inFlightCount: number;
  totalSubscribers: number;
  oldestCallAge: number | null;
}

/** One execution of work for one key, and the promise all its callers share. */
class Flight<T> {
  readonly promise: Promise<T>;
  resolve!: (value: T) => void;
  reject!: (reason: unknown) => void;
  /** True once the table has let go of this flight (settled, failed or expired). */
  done = false;
  readonly counters: Int32Array;
  readonly counterIndex: number;
  private controller: AbortController | undefined;

  constructor(
    readonly key: string,
    readonly cell: number,
  ) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.counters = native.counterPage(cell);
    this.counterIndex = native.counterIndex(cell);
  }

  /** The signal handed to work; created on demand because an AbortSignal costs ~3 µs. */
  signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    this.controller?.abort(reason);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function keyTypeError(key: unknown): TypeError {
  return new TypeError(`Singleflight key must be a string, received ${key === null ? 'null' : typeof key}`);
}

/** Instances with a sweep timer armed, for the 'beforeExit' hook below. */
const pendingSweeps = new Set<Singleflight>();
process.on('beforeExit', () => {
  for (const instance of pendingSweeps) instance.holdOpenForExpiry();
});

export class Singleflight {
  /** The name given at construction, if any. */
  readonly name: string | undefined;
  /** Callers allowed per flight, leader included (Infinity when unlimited). */
  readonly maxSubscribers: number;
  /** Milliseconds a flight may run before its callers get FlightTimeoutError. */
  readonly maxDuration: number;

  private readonly subscriberLimit: number;
  private readonly group: native.NativeGroup;
  /** Flights of this instance that new callers may join, by key, in start order. */
  private readonly flights = new Map<string, Flight<unknown>>();
  /** Flights removed by clear() whose callers still wait; they can still expire. */
  private readonly detached = new Set<Flight<unknown>>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly statsOut = new Float64Array(3);

  constructor(options?: SingleflightOptions) {
    const resolved = resolveOptions(options);
    this.name = resolved.name;
    this.subscriberLimit = resolved.maxSubscribers;
    this.maxSubscribers = resolved.maxSubscribers === 2 ** 31 - 1 ? Infinity : resolved.maxSubscribers;
    this.maxDuration = resolved.maxDuration;
    this.group = new native.Group(this.subscriberLimit, this.maxDuration);
  }

  /**
   * Runs `work` for `key` unless a flight for `key` is already in the air, in which case the
   * caller joins it. Every caller of one flight gets the same value (the same object) or the
   * same error. Nothing is cached: a call after the flight settled starts a new one.
   *
   * `work` receives an AbortSignal, aborted when the flight exceeds maxDuration, if it
   * declares a parameter. Throws TypeError synchronously for a non-string key or non-function
   * work, RangeError for a key longer than MAX_KEY_LENGTH.
   */
  execute<T>(key: string, work: Work<T>): Promise<T> {
    if (typeof key !== 'string') throw keyTypeError(key);
    if (typeof work !== 'function') {
      throw new TypeError(`Singleflight work must be a function, received ${work === null ? 'null' : typeof work}`);
    }
    const flight = this.flights.get(key) as Flight<T> | undefined;
    if (flight === undefined) return this.lead(key, work);
    if (Atomics.add(flight.counters, flight.counterIndex, 1) >= this.subscriberLimit) {
      Atomics.sub(flight.counters, flight.counterIndex, 1);
      return Promise.reject(new TooManySubscribersError(key, this.maxSubscribers));
    }
    return flight.promise;
  }

  /** Counts, for this instance's table: flights in the air, their callers, the oldest's age in ms. */
  getStats(): SingleflightStats {
    const out = this.statsOut;
    this.group.stats(out);
    return {
      inFlightCount: out[0],
      totalSubscribers: out[1],
      oldestCallAge: out[2] < 0 ? null : Math.round(out[2]),
    };
  }

  /** Whether a flight for `key` is in the air that a new caller would join. */
  isInFlight(key: string): boolean {
    if (typeof key !== 'string') throw keyTypeError(key);
    if (this.flights.has(key)) return true;
    return key.length <= MAX_KEY_LENGTH && this.group.has(key);
  }

  getInFlightCount(): number {
    return this.group.size();
  }

  /**
   * Makes every current flight unjoinable: the next caller of any key starts afresh. Callers
   * already waiting keep waiting for the flight they joined (and its maxDuration still holds).
   */
  clear(): void {
    for (const flight of this.flights.values()) this.detached.add(flight);
    this.flights.clear();
    this.group.clear();
  }

  private lead<T>(key: string, work: Work<T>): Promise<T> {
    if (key.length > MAX_KEY_LENGTH) {
      throw new RangeError(
        `Singleflight key is ${key.length} characters long; the limit is MAX_KEY_LENGTH (${MAX_KEY_LENGTH})`,
      );
    }
    const code = this.group.join(key);
    const role = code % 4;
    if (role !== native.ROLE_LEADER) return this.refuse(key, role);
    const flight = new Flight<T>(key, (code - role) / 4);
    this.flights.set(key, flight as Flight<unknown>);
    if (this.sweepTimer === undefined && this.maxDuration !== Infinity) this.scheduleSweep(this.maxDuration);

    let result: T | PromiseLike<T>;
    try {
      result = work.length === 0 ? (work as () => T | PromiseLike<T>)() : work(flight.signal());
    } catch (error) {
      this.fail(flight, error);
      return flight.promise;
    }
    if (isThenable(result)) {
      Promise.resolve(result).then(
        (value) => this.succeed(flight, value),
        (error: unknown) => this.fail(flight, error),
      );
    } else {
      this.succeed(flight, result);
    }
    return flight.promise;
  }

  private refuse<T>(key: string, role: number): Promise<T> {
    if (role === native.ROLE_EXHAUSTED) return Promise.reject(new FlightCapacityError(key));
    if (role === native.ROLE_REJECTED) {
      return Promise.reject(new TooManySubscribersError(key, this.maxSubscribers));
    }
    // The table only reports a follower when another thread leads; an unnamed instance's
    // table is its own, and its Map always mirrors it.
    throw new Error(`threadflight: table and thread state disagree about key ${describeKey(key)}`);
  }

  private succeed<T>(flight: Flight<T>, value: T): void {
    if (this.release(flight)) flight.resolve(value);
  }

  private fail<T>(flight: Flight<T>, error: unknown): void {
    if (this.release(flight)) flight.reject(error);
  }

  /** Takes the flight out of the Map and the table, once; false if that already happened. */
  private release<T>(flight: Flight<T>): boolean {
    if (flight.done) return false;
    flight.done = true;
    if (this.flights.get(flight.key) === flight) this.flights.delete(flight.key);
    if (this.detached.size !== 0) this.detached.delete(flight as Flight<unknown>);
    this.group.settle(flight.key, flight.cell);
    return true;
  }

  // maxDuration without a timer per flight: one timer per instance, due at the earliest
  // deadline among its flights. Flights that finish early cost nothing; the timer re-arms
  // for whatever is then the oldest, and stops when nothing is in the air. The timer is
  // unref'd so it never delays a process that has finished its work; if the event loop
  // runs dry while a flight is still pending, `holdOpenForExpiry` refs it, so that callers
  // awaiting a stuck flight still get their FlightTimeoutError.
  private scheduleSweep(delayMs: number): void {
    this.sweepTimer = setTimeout(this.sweep, Math.max(1, Math.ceil(delayMs)));
    this.sweepTimer.unref();
    pendingSweeps.add(this);
  }

  /**
   * @internal Called on 'beforeExit'. With flights still pending, keeps the loop alive until
   * the next sweep; with none, drops the timer so it cannot hold the process later.
   */
  holdOpenForExpiry(): void {
    if (this.flights.size !== 0 || this.detached.size !== 0) {
      this.sweepTimer?.ref();
      return;
    }
    clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    pendingSweeps.delete(this);
  }

  private readonly sweep = (): void => {
    this.sweepTimer = undefined;
    pendingSweeps.delete(this);
    const now = native.now();
    let nextDue = Infinity;
    const check = (flight: Flight<unknown>): void => {
      const due = native.startedAt(flight.cell) + this.maxDuration;
      if (due <= now) this.expire(flight);
      else if (due < nextDue) nextDue = due;
    };
    for (const flight of this.flights.values()) check(flight);
    for (const flight of this.detached) check(flight);
    if (nextDue !== Infinity) this.scheduleSweep(nextDue - now);
  };

  private expire(flight: Flight<unknown>): void {
    if (!this.release(flight)) return;
    const error = new FlightTimeoutError(flight.key, this.maxDuration);
    flight.reject(error);
    flight.abort(error);
  }
}
