// Singleflight: the public coalescing API. Instances are thin: what they coalesce lives in a
// Coalescer, shared by every instance of the same name in this thread.
import { Coalescer } from './coalescer';
import { traced, tracingOn } from './tracing';
import { selfTimed } from './timings';
import type { Coordinator } from './distributed';
import { OptionsMismatchError } from './errors';
import type { Work } from './flight';
import {
  callSignal,
  checkCall,
  keyTypeError,
  resolveOptions,
  UNLIMITED_SUBSCRIBERS,
  type CallOptions,
  type ResolvedOptions,
  type SingleflightOptions,
} from './options';
import type { FlightReport, TableStats } from './table';

export type { Work } from './flight';
export type { CallOptions } from './options';
export type SingleflightStats = TableStats;
export type { FlightReport } from './table';

/**
 * This thread's Coalescer of each name, held weakly: once every instance of a name is gone
 * here (and its flights have settled), so is its Coalescer, and the native table with it when
 * no other thread uses the name either.
 */
const byName = new Map<string, WeakRef<Coalescer>>();
const forgetName = new FinalizationRegistry<string>((name) => {
  if (byName.get(name)?.deref() === undefined) byName.delete(name);
});

function describeLimits(maxSubscribers: number, maxDuration: number): string {
  const subscribers = maxSubscribers === UNLIMITED_SUBSCRIBERS ? 'Infinity' : String(maxSubscribers);
  return `maxSubscribers ${subscribers}, maxDuration ${maxDuration === Infinity ? 'Infinity' : `${maxDuration} ms`}`;
}

function coalescerFor(options: ResolvedOptions): Coalescer {
  const name = options.name;
  if (name === undefined) return new Coalescer(options);
  const existing = byName.get(name)?.deref();
  if (existing === undefined) {
    const created = new Coalescer(options);
    byName.set(name, new WeakRef(created));
    forgetName.register(created, name);
    return created;
  }
  if (existing.subscriberLimit !== options.maxSubscribers || existing.maxDuration !== options.maxDuration) {
    throw new OptionsMismatchError(
      name,
      `Singleflight name "${name}" is already in use with ${describeLimits(existing.subscriberLimit, existing.maxDuration)}; ` +
        `this instance asked for ${describeLimits(options.maxSubscribers, options.maxDuration)}. ` +
        'Instances sharing a name must use the same options.',
    );
  }
  return existing;
}

export class Singleflight {
  private readonly coalescer: Coalescer;
  private readonly distributed: Coordinator | undefined;
  private readonly traceKeys: boolean;

  constructor(options?: SingleflightOptions) {
    const resolved = resolveOptions(options);
    this.coalescer = coalescerFor(resolved);
    this.distributed = resolved.distributed;
    this.traceKeys = resolved.traceKeys;
    if (resolved.timings) this.coalescer.enableTimings();
  }

  /** The name given at construction, if any. */
  get name(): string | undefined {
    return this.coalescer.name;
  }

  /** Callers allowed per flight, leader included (Infinity when unlimited). */
  get maxSubscribers(): number {
    return this.coalescer.maxSubscribers;
  }

  /** Milliseconds a flight may run before its callers get FlightTimeoutError. */
  get maxDuration(): number {
    return this.coalescer.maxDuration;
  }

  /**
   * Runs `work` for `key` unless a flight for `key` is already in the air — in this thread or,
   * for a named instance, in any thread — in which case the caller joins it. See index.d.ts.
   */
  execute<T>(key: string, work: Work<T>, options?: CallOptions): Promise<T> {
    checkCall(key, work);
    if (tracingOn()) {
      return traced(this.coalescer, this.traceKeys, key, work, (watched) => this.untraced(key, watched, options));
    }
    // The common call, without a detour (the hot path is short enough to be inlined whole).
    if (options === undefined && this.distributed === undefined) return this.coalescer.execute(key, work);
    return this.untraced(key, work, options);
  }

  private untraced<T>(key: string, work: Work<T>, options: CallOptions | undefined): Promise<T> {
    const run = this.distributed === undefined ? work : this.acrossProcesses(key, work);
    if (options === undefined) return this.coalescer.execute(key, run);
    const signal = callSignal(options);
    return signal === undefined ? this.coalescer.execute(key, run) : this.coalescer.executeWithSignal(key, run, signal);
  }

  /** Like execute(), and tells whether the value was delivered to more than one caller. */
  do<T>(key: string, work: Work<T>, options?: CallOptions): Promise<{ value: T; shared: boolean }> {
    checkCall(key, work);
    const run = this.distributed === undefined ? work : this.acrossProcesses(key, work);
    return this.coalescer.do(key, run, options === undefined ? undefined : callSignal(options));
  }

  /** The work this process's flight runs when a coordinator shares flights across processes. */
  private acrossProcesses<T>(key: string, work: Work<T>): Work<T> {
    const coordinator = this.distributed as Coordinator;
    const coalescer = this.coalescer;
    const { name, maxDuration } = coalescer as { name: string; maxDuration: number };
    const run: Work<T> = (signal) => {
      let ranHere = false;
      const here: Work<T> = (workSignal) => {
        ranHere = true;
        return coalescer.runTimed(work, workSignal);
      };
      const answered = coordinator.run({ name, key, maxDuration, work: here, signal });
      const count = (): void => {
        if (!ranHere) coalescer.servedByOtherProcess();
      };
      answered.then(count, count);
      return answered;
    };
    // Timed where the work runs (here, if at all), not as the flight: see runTimed.
    selfTimed.add(run);
    return run;
  }

  /**
   * Makes the key's flight unjoinable in every thread: the next caller starts a new flight,
   * while callers already waiting keep the old one. Returns whether there was one to forget.
   */
  forget(key: string): boolean {
    if (typeof key !== 'string') throw keyTypeError(key);
    const forgotten = this.coalescer.forget(key);
    this.distributed?.forget?.(this.coalescer.name as string, key);
    return forgotten;
  }

  getStats(): SingleflightStats {
    return this.coalescer.stats();
  }

  /**
   * Starts recording getStats()' executionTime and waitTime histograms: for a named instance,
   * in every thread of the process, from each thread's next flight on, and for good (an
   * unnamed instance: this instance). A timed caller's promise is the one it would get untimed.
   */
  enableTimings(): void {
    this.coalescer.enableTimings();
  }

  /**
   * The flights still in the air (or whose work still runs past maxDuration) that started at
   * least `olderThan` ms ago, oldest first — for a named instance, of every thread. For a
   * health check: a key appears only as a hash.
   */
  getFlights(options?: { olderThan?: number; limit?: number }): FlightReport[] {
    const { olderThan = 0, limit = 100 } = options ?? {};
    if (typeof olderThan !== 'number' || !(olderThan >= 0)) {
      throw new RangeError(
        `getFlights() option "olderThan" must be a number of ms >= 0, received ${String(olderThan)}`,
      );
    }
    if (typeof limit !== 'number' || !(limit >= 0)) {
      throw new RangeError(`getFlights() option "limit" must be a number >= 0, received ${String(limit)}`);
    }
    return this.coalescer.flights(olderThan, limit);
  }

  isInFlight(key: string): boolean {
    if (typeof key !== 'string') throw keyTypeError(key);
    return this.coalescer.isInFlight(key);
  }

  getInFlightCount(): number {
    return this.coalescer.inFlightCount();
  }

  clear(): void {
    this.coalescer.clear();
    this.distributed?.forget?.(this.coalescer.name as string);
  }
}
