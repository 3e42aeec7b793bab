// FlightCache: a TTL cache in front of the flight. A miss runs the factory once for every
// concurrent caller — the store is read again and filled inside that one flight — and a named
// cache keeps its entries process-wide, so a value stored by one thread serves hits in all.
import type { CacheTier, Coordinator } from '../distributed';
import { FlightTimeoutError, OptionsMismatchError } from '../errors';
import { MAX_KEY_LENGTH } from '../options';
import { Singleflight } from '../singleflight';
import { protocol } from '../protocol';
import * as clock from './clock';
import { toMs, type Duration } from './duration';
import { LocalStore } from './local-store';
import {
  describe,
  resolveCacheOptions,
  resolveCall,
  resolveSet,
  type CacheStatus,
  type CallSettings,
  type FlightCacheOptions,
  type GetOrSetOptions,
  type TtlOption,
} from './options';
import { SharedStore } from './shared-store';
import { Freshness, type Entry, type Store } from './store';

const { hits: HITS, staleHits: STALE_HITS, misses: MISSES, factoryRuns: FACTORY_RUNS } = protocol.counter;
const { factoryErrors: FACTORY_ERRORS, tierHits: TIER_HITS } = protocol.counter;

/** Flights of a named cache live in a Singleflight table of their own, under a name no
 * Singleflight of the application can collide with. */
const FLIGHT_PREFIX = '\u0000threadflight.cache:';

export interface FactoryContext<T> {
  readonly key: string;
  /** Aborted when the fill's flight runs past maxDuration or every caller has left. */
  readonly signal: AbortSignal;
  /** The stale value this fill replaces, when there is one. */
  readonly stale: { readonly value: T } | undefined;
  /** Returns the factory's value to the callers without caching it. */
  skip(): void;
  /** Fails the fill with `error`: callers get it (or the stale value, within grace). */
  fail(error?: unknown): never;
  /** This entry's ttl, over the call's. */
  setTtl(ttl: Duration): void;
}

export type Factory<T> = (context: FactoryContext<T>) => T | PromiseLike<T>;

export interface FlightCacheStats {
  entries: number;
  bytes: number;
  hits: number;
  staleHits: number;
  misses: number;
  factoryRuns: number;
  factoryErrors: number;
  tierHits: number;
  evictions: number;
  expirations: number;
  inFlight: number;
}

/** What a fill's flight settles with (in this process's threads): the value, and how it was found. */
interface Filled {
  value: unknown;
  how: NonNullable<CacheStatus['fill']>;
}

/** How long after a deletion a value filled in another process is not trusted here: the other
 * process's fill may have started before it (a fill lasts at most maxDuration). */
const CLOCK_SLACK_MS = 1000;

/** Where a fill started: the stores' guards against writing over a deletion it raced. */
interface FillStart {
  generation: number;
  ms: number;
  /** On the tier's clock; undefined without a tier (or when it could not be read). */
  tier: number | undefined;
}

class Context<T> implements FactoryContext<T> {
  skipped = false;
  ttl: number | undefined;

  constructor(
    readonly key: string,
    readonly signal: AbortSignal,
    readonly stale: { readonly value: T } | undefined,
  ) {}

  skip(): void {
    this.skipped = true;
  }

  fail(error?: unknown): never {
    // What the factory fails with is the caller's choice, as with any throw.
    // eslint-disable-next-line @typescript-eslint/only-throw-error
    throw error === undefined ? new Error(`FlightCache factory for key ${JSON.stringify(this.key)} failed`) : error;
  }

  setTtl(ttl: Duration): void {
    this.ttl = toMs(ttl, 'setTtl(ttl)');
  }
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new TypeError(`FlightCache key must be a string, received ${describe(key)}`);
  if (key.length > MAX_KEY_LENGTH) {
    throw new RangeError(
      `FlightCache key is ${key.length} characters long; the limit is MAX_KEY_LENGTH (${MAX_KEY_LENGTH})`,
    );
  }
}

/** A value whose `then` is a function (or cannot be read): a promise answering a hit would
 * adopt it instead of handing it over. */
function isThenable(value: unknown): boolean {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  try {
    return typeof (value as { then?: unknown }).then === 'function';
  } catch {
    return true;
  }
}

function checkFactory(factory: unknown): void {
  if (typeof factory !== 'function') {
    throw new TypeError(`FlightCache factory must be a function, received ${describe(factory)}`);
  }
}

const valueOf = (filled: Filled): unknown => filled.value;

/** The cache's own Singleflight (named after the cache: its fills are shared process-wide). */
function flightsFor(name: string | undefined, flightName: string, maxDuration: number, maxSubscribers: number) {
  try {
    return new Singleflight({ name: name === undefined ? undefined : flightName, maxDuration, maxSubscribers });
  } catch (error) {
    if (!(error instanceof OptionsMismatchError) || name === undefined) throw error;
    throw new OptionsMismatchError(
      name,
      error.message
        .replace(`Singleflight name "${flightName}"`, `FlightCache name "${name}"`)
        .replace('Instances sharing a name', 'Caches sharing a name'),
    );
  }
}

export class FlightCache {
  readonly name: string | undefined;
  private readonly store: Store;
  private readonly flights: Singleflight;
  private readonly flightName: string;
  private readonly maxDuration: number;
  private readonly coordinator: Coordinator | undefined;
  private readonly tier: CacheTier | undefined;
  private readonly defaults: CallSettings;
  /** This thread's background refreshes, by key (one each; other threads join its flight). */
  private readonly refreshing = new Map<string, Promise<Filled>>();
  /** Deletions of keys (and clears: `cleared`) in this process, heard ones included, by the
   * time they happened (clock.preciseNow): a value another process filled is not trusted for a
   * key deleted within maxDuration. Pruned as it is read. */
  private readonly deletedAt = new Map<string, number>();
  private cleared = -Infinity;
  /** remember()'s last ttl argument, resolved: a hit does not parse a duration again. */
  private lastTtl: unknown = undefined;
  private lastTtlMs = 0;

  constructor(options?: FlightCacheOptions) {
    const resolved = resolveCacheOptions(options);
    this.name = resolved.name;
    this.defaults = resolved.defaults;
    const limits = { maxEntries: resolved.maxEntries, maxBytes: resolved.maxBytes, maxFillMs: resolved.maxDuration };
    this.store =
      resolved.name === undefined ? new LocalStore(limits, clock.now) : new SharedStore(resolved.name, limits);
    this.flightName = FLIGHT_PREFIX + (resolved.name ?? '');
    this.maxDuration = resolved.maxDuration;
    // Processes share fills through the coordinator inside this process's flight (not as the
    // Singleflight's `distributed`): a value filled elsewhere is then stored here too.
    this.flights = flightsFor(resolved.name, this.flightName, resolved.maxDuration, resolved.maxSubscribers);
    this.coordinator = resolved.distributed;
    if (resolved.name !== undefined && resolved.distributed?.cacheTier !== undefined) {
      this.tier = resolved.distributed.cacheTier({
        name: resolved.name,
        maxFillMs: resolved.maxDuration,
        onInvalidate: (key) => (key === undefined ? this.clearHere() : this.deleteHere(key)),
      });
    }
  }

  /**
   * The key's value: from memory when fresh (or stale within grace, refreshed in the
   * background), else from one run of `factory` shared by every concurrent caller. See
   * index.d.ts for the whole contract.
   */
  getOrSet<T>(key: string, factory: Factory<T>, options?: GetOrSetOptions<T>): Promise<T> {
    checkKey(key);
    checkFactory(factory);
    if (options !== undefined) {
      const call = resolveCall(options, this.defaults);
      if (call.signal?.aborted) return Promise.reject(call.signal.reason);
      return this.answer(key, factory as Factory<unknown>, call, this.store.read(key, clock.now())) as Promise<T>;
    }
    const entry = this.store.read(key, clock.now());
    if (entry !== undefined && this.store.freshness === Freshness.Fresh) {
      this.store.counters[HITS]++;
      return Promise.resolve(entry.value as T);
    }
    return this.answer(key, factory as Factory<unknown>, this.defaults, entry) as Promise<T>;
  }

  /** getOrSet() with the ttl as an argument: `remember(key, '10m', () => db.find(id))`. */
  remember<T>(key: string, ttl: TtlOption<T>, factory: Factory<T>): Promise<T> {
    checkKey(key);
    checkFactory(factory);
    if (ttl !== this.lastTtl) {
      this.lastTtlMs = typeof ttl === 'function' ? 0 : toMs(ttl, 'remember() ttl');
      this.lastTtl = ttl;
    }
    const entry = this.store.read(key, clock.now());
    if (entry !== undefined && this.store.freshness === Freshness.Fresh) {
      this.store.counters[HITS]++;
      return Promise.resolve(entry.value as T);
    }
    const call = { ...this.defaults, ttl: typeof ttl === 'function' ? (ttl as CallSettings['ttl']) : this.lastTtlMs };
    return this.answer(key, factory as Factory<unknown>, call, entry) as Promise<T>;
  }

  /** The key's fresh value, or undefined. Never runs anything. */
  get<T = unknown>(key: string): T | undefined {
    checkKey(key);
    const entry = this.store.read(key, clock.now());
    if (entry !== undefined && this.store.freshness === Freshness.Fresh) {
      this.store.counters[HITS]++;
      return entry.value as T;
    }
    this.store.counters[MISSES]++;
    return undefined;
  }

  /** Whether the key has a fresh value. Counts nothing. */
  has(key: string): boolean {
    checkKey(key);
    return this.store.read(key, clock.now()) !== undefined && this.store.freshness === Freshness.Fresh;
  }

  /**
   * Stores `value` for the key (in every thread, for a named cache): fills running for the key
   * store nothing over it, and the next caller does not join them.
   */
  set(key: string, value: unknown, options?: { ttl?: Duration; grace?: Duration | false }): void {
    checkKey(key);
    if (isThenable(value)) {
      throw new TypeError(
        `FlightCache set() value for key ${JSON.stringify(key.slice(0, 120))} is a thenable: await it first`,
      );
    }
    const { ttl, grace } =
      options === undefined
        ? { ttl: this.defaults.ttl as number, grace: this.defaults.grace }
        : resolveSet(options, this.defaults);
    this.deleteHere(key);
    if (ttl > 0) {
      this.store.write(key, value, ttl, grace, this.store.generation(), clock.preciseNow());
      this.tier?.replace(key, value, ttl, grace);
    } else {
      this.tier?.delete(key);
    }
  }

  /**
   * Removes the key's entry (in every thread, for a named cache). A fill running for it stores
   * nothing, and the next caller starts a new one. Returns whether there was an entry.
   */
  delete(key: string): boolean {
    checkKey(key);
    this.tier?.delete(key);
    return this.deleteHere(key);
  }

  /** Removes every entry, as delete() does for one. */
  clear(): void {
    this.tier?.clear();
    this.clearHere();
  }

  /** Stops hearing of other processes' deletions (with a `distributed` coordinator that offers
   * a tier); the cache goes on working. */
  close(): void {
    this.tier?.close();
  }

  stats(): FlightCacheStats {
    const store = this.store.stats();
    const counters = this.store.totals();
    return {
      entries: store.entries,
      bytes: store.bytes,
      hits: counters[HITS],
      staleHits: counters[STALE_HITS],
      misses: counters[MISSES],
      factoryRuns: counters[FACTORY_RUNS],
      factoryErrors: counters[FACTORY_ERRORS],
      tierHits: counters[TIER_HITS],
      evictions: store.evictions,
      expirations: store.expirations,
      inFlight: this.flights.getInFlightCount(),
    };
  }

  // --- answering -------------------------------------------------------------------------------

  /** Answers a call given what memory had for it (read just before: store.freshness is its). */
  private answer(
    key: string,
    factory: Factory<unknown>,
    call: CallSettings,
    entry: Entry | undefined,
  ): Promise<unknown> {
    const status = call.status;
    if (entry !== undefined && !call.forceFresh) {
      const freshness = this.store.freshness;
      if (freshness === Freshness.Fresh) {
        this.store.counters[HITS]++;
        if (status !== undefined) status.get = 'hit';
        return Promise.resolve(entry.value);
      }
      this.store.counters[STALE_HITS]++;
      if (status !== undefined) status.get = 'stale';
      return this.serveStale(key, factory, call, entry, freshness === Freshness.Stale);
    }
    this.store.counters[MISSES]++;
    if (status !== undefined) status.get = 'miss';
    return this.fill(key, factory, call, entry);
  }

  /** Within grace: the stale value now (or within `timeout`), and one refresh in the background. */
  private serveStale(
    key: string,
    factory: Factory<unknown>,
    call: CallSettings,
    entry: Entry,
    refreshable: boolean,
  ): Promise<unknown> {
    const status = call.status;
    if (!refreshable) {
      if (status !== undefined) status.refresh = 'backoff';
      return Promise.resolve(entry.value);
    }
    const refresh = this.refresh(key, factory, call, entry);
    if (status !== undefined) status.refresh = 'started';
    if (call.timeout === 0) return Promise.resolve(entry.value);
    const signal = call.signal;
    return new Promise((resolve, reject) => {
      let answered = false;
      const settle = (): boolean => {
        if (answered) return false;
        answered = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const answer = (value: unknown, note: (status: CacheStatus) => void): void => {
        if (!settle()) return;
        if (status !== undefined) note(status);
        resolve(value);
      };
      const onAbort = (): void => {
        if (settle()) reject(signal?.reason);
      };
      const timer =
        call.timeout === Infinity
          ? undefined
          : setTimeout(() => answer(entry.value, (s) => (s.timeout = 'soft')), call.timeout);
      signal?.addEventListener('abort', onAbort, { once: true });
      refresh.then(
        (filled) => answer(filled.value, (s) => (s.fill = filled.how)),
        () => answer(entry.value, (s) => (s.staleIfError = true)),
      );
    });
  }

  /** This thread's refresh of the key, started if there is none. Never rejects unhandled. */
  private refresh(key: string, factory: Factory<unknown>, call: CallSettings, entry: Entry): Promise<Filled> {
    let running = this.refreshing.get(key);
    if (running !== undefined) return running;
    running = this.flight(key, factory, call, entry, undefined, true);
    this.refreshing.set(key, running);
    const done = (): void => {
      if (this.refreshing.get(key) === running) this.refreshing.delete(key);
    };
    running.then(done, done);
    return running;
  }

  /** A miss: the caller waits for the key's flight (within hardTimeout). */
  private fill(key: string, factory: Factory<unknown>, call: CallSettings, entry: Entry | undefined): Promise<unknown> {
    const status = call.status;
    const flight = this.flight(key, factory, call, entry, call.signal, false);
    const answered =
      status === undefined
        ? flight.then(valueOf)
        : flight.then((filled) => {
            status.fill = filled.how;
            return filled.value;
          });
    if (call.hardTimeout === Infinity) return answered;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (status !== undefined) status.timeout = 'hard';
        reject(new FlightTimeoutError(key, call.hardTimeout, 'hardTimeout'));
      }, call.hardTimeout);
      answered.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /** Joins (or starts) the key's flight, whose leader reads the store again and fills it. */
  private flight(
    key: string,
    factory: Factory<unknown>,
    call: CallSettings,
    entry: Entry | undefined,
    signal: AbortSignal | undefined,
    refreshing: boolean,
  ): Promise<Filled> {
    const work = (flightSignal: AbortSignal): Promise<Filled> =>
      this.runFill(key, factory, call, entry, flightSignal, refreshing);
    return signal === undefined ? this.flights.execute(key, work) : this.flights.execute(key, work, { signal });
  }

  /** The flight's work, in this process's leader thread: look again, then ask the second tier,
   * then run the factory (here, or in whichever process the coordinator picks). `refreshing`:
   * the entry is stale and this fill refreshes it (a failure backs it off). */
  private async runFill(
    key: string,
    factory: Factory<unknown>,
    call: CallSettings,
    entry: Entry | undefined,
    signal: AbortSignal,
    refreshing: boolean,
  ): Promise<Filled> {
    const start: FillStart = { generation: this.store.generation(), ms: clock.preciseNow(), tier: undefined };
    if (!call.forceFresh) {
      // Another flight may have filled the key since this caller looked.
      const stored = this.store.read(key, clock.now());
      if (stored !== undefined && this.store.freshness === Freshness.Fresh)
        return { value: stored.value, how: 'stored' };
    }
    let stale = entry === undefined ? undefined : { value: entry.value };
    if (this.tier !== undefined) {
      const read = await this.tier.read(key);
      start.tier = read?.since;
      const found = read?.entry;
      if (found !== undefined && found.freshMs > 0 && !call.forceFresh && !isThenable(found.value)) {
        this.store.counters[TIER_HITS]++;
        this.store.write(key, found.value, found.freshMs, found.graceMs, start.generation, start.ms);
        return { value: found.value, how: 'tier' };
      }
      if (stale === undefined && found !== undefined) stale = { value: found.value };
    }
    const fill = { key, factory, call, entry, stale, refreshing, start };
    if (this.coordinator === undefined) return this.produce(fill, signal);
    let produced: Filled | undefined;
    // The coordinator carries the value alone (its codec is written for the application's values).
    const value = await this.coordinator.run<unknown>({
      name: this.flightName,
      key,
      maxDuration: this.maxDuration,
      signal,
      work: async (flightSignal) => {
        produced = await this.produce(fill, flightSignal);
        return produced.value;
      },
    });
    if (produced !== undefined) return produced;
    // Filled in another process. That fill may have started before a deletion here: then the
    // factory runs here instead. Otherwise the value is kept here as the tier keeps it (the
    // other process stored it there, with its ttl, before it answered).
    if (this.deletedRecently(key)) return this.produce(fill, signal);
    const read = this.tier === undefined ? undefined : await this.tier.read(key);
    if (read?.entry !== undefined && read.entry.freshMs > 0) {
      this.store.write(key, value, read.entry.freshMs, read.entry.graceMs, start.generation, start.ms);
    }
    return { value, how: 'factory' };
  }

  /** Runs the factory and stores its value, in memory and in the second tier. */
  private async produce(
    fill: {
      key: string;
      factory: Factory<unknown>;
      call: CallSettings;
      entry: Entry | undefined;
      stale: { value: unknown } | undefined;
      refreshing: boolean;
      start: FillStart;
    },
    signal: AbortSignal,
  ): Promise<Filled> {
    const { key, call, start } = fill;
    this.store.counters[FACTORY_RUNS]++;
    const context = new Context(key, signal, fill.stale);
    let value: unknown;
    try {
      value = await fill.factory(context);
    } catch (error) {
      this.store.counters[FACTORY_ERRORS]++;
      if (fill.refreshing && fill.entry !== undefined) {
        this.store.backOff(key, fill.entry, clock.preciseNow() + call.graceBackoff);
      }
      throw error;
    }
    if (context.skipped) return { value, how: 'skipped' };
    const ttl =
      context.ttl ??
      (typeof call.ttl === 'number' ? call.ttl : toMs(call.ttl(value), 'the result of the "ttl" function'));
    if (ttl > 0) {
      this.store.write(key, value, ttl, call.grace, start.generation, start.ms);
      const elapsed = clock.preciseNow() - start.ms;
      if (this.tier !== undefined && start.tier !== undefined && elapsed <= this.maxDuration) {
        await this.tier.write(key, value, ttl, call.grace, start.tier, elapsed);
      }
    }
    return { value, how: 'factory' };
  }

  /** Whether the key was deleted (or the cache cleared) here within maxDuration (+ slack). */
  private deletedRecently(key: string): boolean {
    const since = clock.preciseNow() - this.maxDuration - CLOCK_SLACK_MS;
    if (this.cleared > since) return true;
    const at = this.deletedAt.get(key);
    if (at === undefined) return false;
    if (at > since) return true;
    this.deletedAt.delete(key);
    return false;
  }

  /** delete(), in this process only: the entry, this process's fill (and its lease, with a
   * coordinator), and a note of when. */
  private deleteHere(key: string): boolean {
    this.flights.forget(key);
    this.coordinator?.forget?.(this.flightName, key);
    this.refreshing.delete(key);
    if (this.coordinator !== undefined) {
      if (this.deletedAt.size >= 1024) this.pruneDeletions();
      this.deletedAt.set(key, clock.preciseNow());
    }
    return this.store.delete(key);
  }

  /** clear(), in this process only. */
  private clearHere(): void {
    this.flights.clear();
    this.coordinator?.forget?.(this.flightName);
    this.refreshing.clear();
    this.deletedAt.clear();
    this.cleared = clock.preciseNow();
    this.store.clear();
  }

  private pruneDeletions(): void {
    const since = clock.preciseNow() - this.maxDuration - CLOCK_SLACK_MS;
    for (const [key, at] of this.deletedAt) if (at <= since) this.deletedAt.delete(key);
  }
}
