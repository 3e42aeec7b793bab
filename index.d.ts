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
  /**
   * Whether the contexts of the `threadflight:execute` tracing channel carry the key (keys may
   * hold user data: off by default).
   */
  traceKeys?: boolean;
  /**
   * Turns the execution and wait time histograms of getStats() on at construction, as
   * enableTimings() does. Default false.
   */
  timings?: boolean;
}

/**
 * The context of one execute() on the diagnostics_channel TracingChannel
 * `threadflight:execute` (start, end, asyncStart, asyncEnd, error events). Traced only while
 * something subscribes; otherwise a call costs one check.
 */
export interface ExecuteContext {
  /** The instance's name (undefined for an unnamed instance). */
  readonly name: string | undefined;
  /** The key, when the instance was made with `traceKeys: true`. */
  readonly key: string | undefined;
  /** The caller's thread (worker_threads.threadId; 0 for the main thread). */
  readonly thread: number;
  /**
   * The caller's part, known from the `end` event on: it started the flight (`leader`), joined
   * one started in its thread (`follower`) or in another (`remote-follower`), or ran its work
   * later because the flight's leader thread was gone or its outcome could not reach this
   * thread (`takeover`). Undefined for a caller that joined nothing: turned away
   * (maxSubscribers, capacity), its signal aborted already, or a key too long.
   */
  role: 'leader' | 'follower' | 'remote-follower' | 'takeover' | undefined;
  /** The value (asyncStart), or what was thrown (error), as diagnostics_channel sets them. */
  result?: unknown;
  error?: unknown;
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
  /** A second tier for a named FlightCache's entries, shared by every process; a FlightCache
   * given this coordinator as `distributed` uses it when offered. */
  cacheTier?(options: CacheTierOptions): CacheTier;
}

/** What a coordinator's cacheTier() is told by the FlightCache it serves. */
export interface CacheTierOptions {
  readonly name: string;
  /** The cache's maxDuration: a fill older than this stores nothing. */
  readonly maxFillMs: number;
  /** Another process deleted `key` (or cleared the cache: undefined). */
  readonly onInvalidate: (key: string | undefined) => void;
}

/** What a fill learns from the tier before it runs the factory. */
export interface TierRead {
  /** When the fill started, on the tier's clock. */
  readonly since: number;
  /** The key's entry, if any: its value, ms left fresh, then ms left stale. */
  readonly entry?: { readonly value: unknown; readonly freshMs: number; readonly graceMs: number };
}

/** A FlightCache's second tier. Never rejects or throws: a tier it cannot use reads nothing and keeps nothing. */
export interface CacheTier {
  read(key: string): Promise<TierRead | undefined>;
  /** Resolves once the value is stored (or refused, or the tier failed): never rejects. */
  write(key: string, value: unknown, freshMs: number, graceMs: number, since: number, elapsedMs: number): Promise<void>;
  replace(key: string, value: unknown, freshMs: number, graceMs: number): void;
  delete(key: string): void;
  clear(): void;
  close(): void;
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
  // Counters since the table was created — for a named instance, of every thread of the
  // process (each counts in its own lane of shared memory; the lanes are summed when asked).
  /** Flights started in this process (takeovers not included); with `distributed`, those
   * another process answered are in servedByOtherProcess too. */
  flightsStarted: number;
  /** Callers served by a flight started in their own thread (the work ran once for them too);
   * counted when the flight ends in their thread. */
  joinedSameThread: number;
  /** Callers served by a flight started in another thread; counted when the flight ends in
   * their thread. */
  joinedOtherThread: number;
  /** Flights of this process answered by another process's work (with `distributed`). */
  servedByOtherProcess: number;
  /** Flights whose work threw or rejected. */
  workErrors: number;
  /** Callers rejected with FlightTimeoutError. */
  timeouts: number;
  /** Callers turned away: TooManySubscribersError or FlightCapacityError. */
  rejected: number;
  /** Callers that left through their AbortSignal. */
  aborted: number;
  /** Flights this process led after their leader's thread was gone. */
  takeovers: number;
  /** Whether the histograms below are recorded (see enableTimings()). */
  timings: boolean;
  /** Seconds each run of work took in this process, from its start to its value or error
   * (recorded even when nobody waits for it any more). */
  executionTime: TimeHistogram;
  /** Seconds each caller waited, from its admission to its answer (value, error, timeout,
   * abort); the caller that started the run, from the run's start. */
  waitTime: TimeHistogram;
}

/** Durations, bucketed as Prometheus keeps them. */
export interface TimeHistogram {
  /** Observations in all. */
  count: number;
  /** Their total, in seconds. */
  sum: number;
  /** Cumulative: `count` observations took at most `le` seconds; the last `le` is Infinity.
   * Bounds from 1 ms to 10 s. */
  buckets: Array<{ le: number; count: number }>;
}

/** A flight in the air, as getFlights() reports it. */
export interface FlightReport {
  /** A hash of the key: stable within the process, not reversible. */
  keyHash: string;
  /** Milliseconds since the flight started (for an unnamed instance, as coarse as oldestCallAge). */
  age: number;
  /** worker_threads.threadId of the thread running its work (-1 if unknown). */
  thread: number;
  /** Callers waiting, in every thread. */
  callers: number;
  /** False once the flight takes no more callers (forgotten, cleared) while its work still runs. */
  joinable: boolean;
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

  /**
   * Starts recording getStats()' executionTime and waitTime histograms — for a named instance
   * in every thread of the process, for as long as the name's table lives (an unnamed
   * instance: this instance), from each thread's next flight on. threadflightMetrics() calls
   * it. A timed caller gets the same promise it would untimed; with timings off, a new flight
   * reads one number from shared memory and a duplicate caller nothing more.
   */
  enableTimings(): void;

  /**
   * The flights in the air that started at least `olderThan` ms ago (default 0), oldest first,
   * at most `limit` (default 100) — for a named instance, of every thread. For a health check
   * or an admin route: a key appears only as a hash.
   * @throws RangeError for a negative or non-number option.
   */
  getFlights(options?: { olderThan?: number; limit?: number }): FlightReport[];

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
  readonly code:
    | 'ERR_TOO_MANY_SUBSCRIBERS'
    | 'ERR_FLIGHT_TIMEOUT'
    | 'ERR_FLIGHT_CAPACITY'
    | 'ERR_OPTIONS_MISMATCH'
    | 'ERR_CACHE_VALUE';
}

/** A flight already had maxSubscribers callers. */
export declare class TooManySubscribersError extends ThreadflightError {
  readonly name: 'TooManySubscribersError';
  readonly code: 'ERR_TOO_MANY_SUBSCRIBERS';
  readonly key: string;
  readonly maxSubscribers: number;
}

/** A flight ran longer than maxDuration, or a FlightCache call waited longer than its hardTimeout. */
export declare class FlightTimeoutError extends ThreadflightError {
  readonly name: 'FlightTimeoutError';
  readonly code: 'ERR_FLIGHT_TIMEOUT';
  readonly key: string;
  /** The limit that ran out, in ms. */
  readonly maxDuration: number;
  /** Which option set that limit. */
  readonly limit: 'maxDuration' | 'hardTimeout';
}

/**
 * A FlightCache could not keep a value: a named cache hands values to other threads as
 * structured clones (and maxBytes measures values that way), and this one cannot be cloned
 * (a function, a symbol, a WeakMap, an object whose getters or Proxy traps throw…).
 */
export declare class CacheValueError extends ThreadflightError {
  readonly name: 'CacheValueError';
  readonly code: 'ERR_CACHE_VALUE';
  readonly key: string;
  /** The cache's name; undefined for an unnamed cache. */
  readonly cacheName: string | undefined;
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

/** Milliseconds, or a number with a unit: '250ms', '10s', '5m', '1h', '1d'. */
export type Duration = number | string;

/** Options of a FlightCache; all optional. Invalid values throw at construction. */
export interface FlightCacheOptions {
  /**
   * Shares the cache process-wide (1 to 200 characters): every FlightCache with this name, in
   * any worker_thread, reads and fills one store, and its misses share one flight per key.
   * Values cross threads as structured clones, so a value that cannot be cloned is a
   * CacheValueError. Caches sharing a name must use the same maxEntries, maxBytes and
   * maxDuration (else OptionsMismatchError); ttl and the other call defaults may differ.
   * Without a name the cache is this thread's alone and keeps values as they are.
   */
  name?: string;
  /** How long a stored value is fresh. Default '30m'. Per call: the `ttl` option. */
  ttl?: Duration;
  /**
   * How long after its ttl a value may still be served stale (stale-while-revalidate, and
   * stale-if-error): callers get it at once while one refresh runs in the background. Default
   * 0 (false): an expired value is a miss.
   */
  grace?: Duration | false;
  /** After a refresh fails, how long the stale value is served before the next attempt. Default '10s'. */
  graceBackoff?: Duration;
  /**
   * Soft timeout, for stale values: how long a caller holding a stale value waits for the
   * refresh before it gets the stale value (the refresh goes on). Default 0: at once.
   */
  timeout?: Duration;
  /**
   * Hard timeout, for misses: a caller waiting longer is rejected with FlightTimeoutError
   * (limit 'hardTimeout'). The factory goes on and its value is cached. Default: none.
   */
  hardTimeout?: Duration;
  /** Most entries held (process-wide for a name); least recently used go first. Default 10000; Infinity for none. */
  maxEntries?: number;
  /**
   * Most bytes held, values measured by their structured-clone (v8.serialize) size. A value
   * alone larger is returned but not cached. Default Infinity.
   */
  maxBytes?: number;
  /**
   * Milliseconds a fill may run: its callers then get FlightTimeoutError, and a fill that ends
   * later stores nothing. Finite, 1 to 2^31-1. Default 30000.
   */
  maxDuration?: number;
  /** Callers one fill may have; see SingleflightOptions.maxSubscribers. Default Infinity. */
  maxSubscribers?: number;
  /**
   * Shares misses across processes (requires `name`): a coordinator such as `redisCoordinator()`
   * from `threadflight/redis`. A value filled in one process is stored in every process whose
   * callers waited for it.
   */
  distributed?: Coordinator;
}

/** A call's status, filled in when given (as lru-cache's `status` option). */
export interface CacheStatus {
  /** What memory had: a fresh value, a stale one (within grace), or nothing usable. */
  get?: 'hit' | 'stale' | 'miss';
  /**
   * How the fill answered: the factory ran ('factory'; 'skipped' when it called skip()),
   * another flight had stored the value meanwhile ('stored'), or a second tier had it ('tier').
   */
  fill?: 'factory' | 'skipped' | 'stored' | 'tier';
  /** For a stale value: a refresh was started or joined, or is held back after a failure. */
  refresh?: 'started' | 'backoff';
  /** A timeout decided the answer: 'soft' (the stale value), 'hard' (FlightTimeoutError). */
  timeout?: 'soft' | 'hard';
  /** The refresh failed and the stale value was served instead. */
  staleIfError?: boolean;
}

/** A ttl, or a function choosing it from the value the factory returned. */
export type TtlOption<T> = Duration | ((value: T) => Duration);

/** Options of one getOrSet() call: they override the cache's defaults for this call. */
export interface GetOrSetOptions<T> {
  ttl?: TtlOption<T>;
  grace?: Duration | false;
  graceBackoff?: Duration;
  timeout?: Duration;
  hardTimeout?: Duration;
  /** Runs the factory even over a fresh value (the flight is still shared). */
  forceFresh?: boolean;
  /** Lets this caller stop waiting (see CallOptions.signal); the fill goes on for the others. */
  signal?: AbortSignal;
  /** Filled in with how the call was answered. */
  status?: CacheStatus;
}

/** What a factory gets: the key, the fill's signal, the stale value, and controls. */
export interface FactoryContext<T> {
  readonly key: string;
  /** Aborted when the fill runs past maxDuration, or every caller has left. */
  readonly signal: AbortSignal;
  /** The stale value this fill replaces, if there is one. */
  readonly stale: { readonly value: T } | undefined;
  /** The value the factory returns goes to its callers but is not cached. */
  skip(): void;
  /** Fails the fill with `error` (as throwing it would): nothing is cached. */
  fail(error?: unknown): never;
  /** This value's ttl, over the call's. */
  setTtl(ttl: Duration): void;
}

export type Factory<T> = (context: FactoryContext<T>) => T | PromiseLike<T>;

/** Gauges and counters; process-wide (every thread) for a named cache. */
export interface FlightCacheStats {
  entries: number;
  /** Bytes held (serialized size), counted for a named cache, or for an unnamed one with maxBytes. */
  bytes: number;
  /** Calls answered with a fresh value from memory. */
  hits: number;
  /** Calls answered with a stale value (grace). */
  staleHits: number;
  /** Calls that found nothing usable in memory. */
  misses: number;
  factoryRuns: number;
  factoryErrors: number;
  /** Fills answered by a second tier without running the factory. */
  tierHits: number;
  /** Entries removed to stay within maxEntries / maxBytes. */
  evictions: number;
  /** Entries removed past their grace period. */
  expirations: number;
  /** Fills in the air that a new caller would join. */
  inFlight: number;
}

/**
 * A TTL cache in front of a flight. A miss runs the factory once for every concurrent caller
 * (in every thread, for a named cache): the store is read again and filled inside that one
 * flight, so no caller refills what another has just stored. Errors are never cached.
 */
export declare class FlightCache {
  /** @throws TypeError or RangeError naming the offending option; OptionsMismatchError. */
  constructor(options?: FlightCacheOptions);

  readonly name: string | undefined;

  /**
   * The key's value. Fresh in memory: that value (the very object in the thread that stored
   * it; a copy decoded once, then kept, in other threads). Stale within grace: the stale value
   * at once (or within `timeout`), while one refresh runs. Otherwise: joins or starts the key's
   * fill, whose leader runs `factory` and stores what it returns for `ttl`.
   *
   * @throws TypeError (synchronously) for a key that is not a string, a factory that is not a
   *   function, or invalid options; RangeError for a key longer than MAX_KEY_LENGTH.
   * Rejects with what the factory threw, FlightTimeoutError (maxDuration, or hardTimeout),
   * CacheValueError, TooManySubscribersError, or the signal's reason.
   */
  getOrSet<T>(key: string, factory: Factory<T>, options?: GetOrSetOptions<T>): Promise<T>;

  /** getOrSet() with the ttl as an argument: `remember(key, '10m', () => db.find(id))`. */
  remember<T>(key: string, ttl: TtlOption<T>, factory: Factory<T>): Promise<T>;

  /** The key's fresh value, or undefined (stale values included). Runs nothing. */
  get<T = unknown>(key: string): T | undefined;

  /** Whether the key has a fresh value. */
  has(key: string): boolean;

  /**
   * Stores a value (in every thread, for a named cache). Fills running for the key store
   * nothing over it. @throws CacheValueError if a named cache cannot share it.
   */
  set(key: string, value: unknown, options?: { ttl?: Duration; grace?: Duration | false }): void;

  /**
   * Removes the key's entry, in every thread at once for a named cache. A fill running for the
   * key never writes its value back, and the next caller starts a new fill. Returns whether
   * there was an entry.
   */
  delete(key: string): boolean;

  /** Removes every entry, as delete() does for one. */
  clear(): void;

  /** Stops hearing of other processes' deletions (a cache with a Redis tier); it goes on working. */
  close(): void;

  stats(): FlightCacheStats;
}
