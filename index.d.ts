// Public types of threadflight.

/** Options of a Singleflight instance; all optional. Invalid values throw at construction. */
export interface SingleflightOptions {
  /**
   * Most callers one flight may have, its leader included. Callers beyond it are rejected at
   * once with TooManySubscribersError. An integer from 1 to 2^31-1 (the shared count is a
   * 32-bit integer), or Infinity (the default).
   */
  maxSubscribers?: number;
  /**
   * Milliseconds a flight may run. When it runs longer, all its callers are rejected with
   * FlightTimeoutError, the signal given to work is aborted, and the next caller starts a new
   * flight. An integer from 1 to 2^31-1 (the longest a Node timer waits), or Infinity to never
   * expire. Default 30000. Counted from the flight's start, in every thread that waits for it;
   * never early, and at most a tenth of maxDuration (100 ms at most) late. While a flight with a
   * finite maxDuration has callers, it keeps its thread's event loop alive.
   */
  maxDuration?: number;
  /**
   * Shares flights process-wide (1 to 256 characters, compared exactly): every instance with this name, in any
   * worker_thread of the process, uses one table, so a key's work runs once in the process.
   * All instances of a name must use the same maxSubscribers and maxDuration; a different
   * pair throws OptionsMismatchError. Without a name an instance shares nothing.
   */
  name?: string;
  /**
   * Shares flights across processes and hosts too (requires `name`): a coordinator such as
   * `redisCoordinator()` from `threadflight/redis`. Threads of one process still coalesce in
   * the process first; only the thread leading a key's flight here talks to the coordinator.
   */
  distributed?: Coordinator;
}

/** One flight of this process, as a Singleflight hands it to its `distributed` coordinator. */
export interface DistributedFlight<T> {
  readonly name: string;
  readonly key: string;
  /** The instance's maxDuration in ms (Infinity for none). */
  readonly maxDuration: number;
  /** The callers' work: run it at most once here, or not at all. */
  readonly work: Work<T>;
  /** Aborted when no caller in this process waits for the flight any more. */
  readonly signal: AbortSignal;
}

/** Coordinates flights across processes: settles with the outcome of the one execution. */
export interface Coordinator {
  run<T>(flight: DistributedFlight<T>): Promise<T>;
  /** Lets go of this process's flights of `name` (of `key` only, if given), so that the next
   * caller starts a new flight: called by forget() and clear(). */
  forget?(name: string, key?: string): void;
}

export interface SingleflightStats {
  /** Flights in the air that a new caller would join. */
  inFlightCount: number;
  /** Callers waiting on those flights, leaders included. */
  totalSubscribers: number;
  /** Age in ms of the oldest of those flights, or null when there is none. An unnamed
   * instance, which reads no clock per flight, may count a flight up to a tenth of maxDuration
   * (100 ms at most) older than it is. */
  oldestCallAge: number | null;
  /**
   * Results that could not be cloned to callers waiting in other threads (who then ran their
   * own work), since the table was created.
   */
  cloneFailures: number;
}

/**
 * The work of a flight. It receives an AbortSignal — aborted when the flight exceeds
 * maxDuration, or when every caller has left — if it declares a parameter; a zero-parameter
 * function is called without one.
 */
export type Work<T> = (signal: AbortSignal) => T | PromiseLike<T>;

/** Options of one call of execute() or do(). */
export interface CallOptions {
  /**
   * Lets this caller stop waiting: when it aborts, the call rejects at once with
   * `signal.reason` (an AbortError unless a reason was given) and no longer counts toward
   * maxSubscribers. Other callers are unaffected, and the work goes on while anyone, in any
   * thread, still waits; when the last caller leaves, the work's own signal is aborted and the
   * key is free for a new flight. An already-aborted signal rejects without running work.
   */
  signal?: AbortSignal;
}

/** Longest key accepted by execute(), in UTF-16 code units (65536). */
export declare const MAX_KEY_LENGTH: number;

export declare class Singleflight {
  /** @throws TypeError or RangeError naming the offending option. */
  constructor(options?: SingleflightOptions);

  readonly name: string | undefined;
  /** Effective limit; Infinity when unlimited. */
  readonly maxSubscribers: number;
  /** Effective limit in ms; Infinity when flights never expire. */
  readonly maxDuration: number;

  /**
   * Runs `work` once for all concurrent callers of `key`: the first caller starts a flight,
   * callers arriving while it is in the air join it, and all receive the same value (the same
   * object) or the same error. Once the flight settles its entry is gone: nothing is cached.
   *
   * For a named instance, callers in other worker_threads join too. They receive a structured
   * clone of the value (an error keeps its name, message, stack, code and other own
   * properties); callers in the thread that ran the work receive the very object.
   *
   * @throws TypeError (synchronously) if key is not a string, work not a function, or options
   *   not valid CallOptions.
   * @throws RangeError (synchronously) if key is longer than MAX_KEY_LENGTH.
   * Rejects with TooManySubscribersError or FlightTimeoutError (see the options), with the
   * signal's reason if the caller's signal aborts, or with whatever the work threw or rejected with.
   */
  execute<T>(key: string, work: Work<T>, options?: CallOptions): Promise<T>;

  /**
   * Like execute(), resolving to the value and `shared`: whether that value was delivered to
   * more than one caller (as Go's singleflight Do).
   */
  do<T>(key: string, work: Work<T>, options?: CallOptions): Promise<{ value: T; shared: boolean }>;

  /**
   * Makes the key's current flight unjoinable (for a name, in every thread): callers already
   * waiting keep it, the next caller starts a new flight, and the old flight settling never
   * touches the new one. Returns whether there was a flight to forget.
   */
  forget(key: string): boolean;

  /** Flights, callers and the oldest flight's age, for monitoring: for a named instance,
   * of the whole process (all threads); otherwise of this instance. */
  getStats(): SingleflightStats;

  /** Whether a flight for `key` is in the air that a new caller would join (process-wide for a name). */
  isInFlight(key: string): boolean;

  /** Number of flights in the air that a new caller would join (process-wide for a name). */
  getInFlightCount(): number;

  /**
   * Makes every flight unjoinable — for a named instance, in every thread: the next caller of
   * any key starts a new flight. Callers already waiting still receive the outcome of the
   * flight they joined.
   */
  clear(): void;
}

/**
 * Base class of every error threadflight itself produces (never of the work's own errors):
 * `err instanceof ThreadflightError`, and `err.code` says which.
 */
export declare abstract class ThreadflightError extends Error {
  readonly code: 'ERR_TOO_MANY_SUBSCRIBERS' | 'ERR_FLIGHT_TIMEOUT' | 'ERR_FLIGHT_CAPACITY' | 'ERR_OPTIONS_MISMATCH';
}

/** A flight already had maxSubscribers callers. */
export declare class TooManySubscribersError extends ThreadflightError {
  readonly name: 'TooManySubscribersError';
  readonly code: 'ERR_TOO_MANY_SUBSCRIBERS';
  readonly key: string;
  readonly maxSubscribers: number;
}

/** A flight ran longer than maxDuration. */
export declare class FlightTimeoutError extends ThreadflightError {
  readonly name: 'FlightTimeoutError';
  readonly code: 'ERR_FLIGHT_TIMEOUT';
  readonly key: string;
  readonly maxDuration: number;
}

/** A name is already in use, in some thread of the process, with other limits. */
export declare class OptionsMismatchError extends ThreadflightError {
  readonly name: 'OptionsMismatchError';
  readonly code: 'ERR_OPTIONS_MISMATCH';
  /** The `name` option the two instances share. */
  readonly singleflightName: string;
}

/** The process could not hold one more flight in the air (over 16 million at once). */
export declare class FlightCapacityError extends ThreadflightError {
  readonly name: 'FlightCapacityError';
  readonly code: 'ERR_FLIGHT_CAPACITY';
  readonly key: string;
}
