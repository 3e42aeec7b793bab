// ThreadGroup: one thread's side of one table. It keeps this thread's flights in a map so a
// duplicate caller in the thread is served by a lookup and an increment (atomic if the table
// is shared), without calling into C++; it leads flights, follows flights led by other
// threads, and expires them.
import * as bridge from './bridge';
import { FlightCapacityError, FlightTimeoutError, OptionsMismatchError, TooManySubscribersError } from './errors';
import { Flight, type AnyFlight, type PendingStamp, type Work } from './flight';
import * as native from './native';
import { LocalTable } from './local-table';
import { SteadyMap } from './steady-map';
import type { ResolvedOptions } from './options';
import * as wire from './wire';

/** Longest key accepted, in UTF-16 code units. */
export const MAX_KEY_LENGTH = 65_536;

/** A key too long is a programming error, thrown synchronously (not an outcome). */
function checkKeyLength(key: string): void {
  if (key.length > MAX_KEY_LENGTH) {
    throw new RangeError(
      `Singleflight key is ${key.length} characters long; the limit is MAX_KEY_LENGTH (${MAX_KEY_LENGTH})`,
    );
  }
}

/** A caller whose signal aborted already: refused without running work (its key still checked). */
function alreadyAborted(key: string, signal: AbortSignal): Promise<never> {
  checkKeyLength(key);
  return Promise.reject(signal.reason);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Groups with a sweep timer armed, for the 'beforeExit' hook below. */
const pendingSweeps = new Set<ThreadGroup>();
process.on('beforeExit', () => {
  for (const group of pendingSweeps) group.holdOpenForExpiry();
});

export class ThreadGroup implements bridge.TableSide {
  readonly name: string | undefined;
  /** Callers allowed per flight; Infinity is stored as the int32 maximum. */
  readonly subscriberLimit: number;
  readonly maxDuration: number;
  /** Flights new callers in this thread may join, by key. */
  readonly flights = new SteadyMap<string, AnyFlight>();
  /** Flights removed by clear(), and solo runs, whose callers still wait; they can expire. */
  private readonly detached = new Set<AnyFlight>();
  /** The process-wide native table of a name, or an unnamed instance's LocalTable. */
  private readonly table: native.NativeGroup;
  private readonly cells: native.CellMemory;
  /** An unnamed group's table and counts are this thread's alone: plain increments, no atomics. */
  private readonly local: boolean;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** When the armed sweep is due, in native.now() ms (Infinity if unknown or not armed). */
  private sweepDueMs = Infinity;
  /** Local flights started while this is set share `openStamp`, which the sweep, due within
   * stampPeriodMs, fills with its clock reading. See stampLocal(). */
  private stampPending = false;
  private openStamp: PendingStamp = { ms: NaN };
  private readonly stampPeriodMs: number;
  /** A local group's earliest flight deadline, in native.now() ms (may be stale: early). */
  private expiryDueMs = Infinity;
  private readonly statsOut = new Float64Array(4);

  constructor(options: ResolvedOptions) {
    this.name = options.name;
    this.subscriberLimit = options.maxSubscribers;
    this.maxDuration = options.maxDuration;
    this.local = options.name === undefined;
    this.stampPeriodMs = Math.min(100, Math.max(1, Math.floor(this.maxDuration / 10)));
    if (options.name === undefined) {
      const local = new LocalTable(this.flights);
      this.table = local;
      this.cells = local;
      return;
    }
    try {
      this.table = native.binding.openGroup(options.name, options.maxSubscribers, options.maxDuration);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_OPTIONS_MISMATCH') {
        throw new OptionsMismatchError(options.name, (error as Error).message);
      }
      throw error;
    }
    this.cells = native.nativeCells;
    bridge.registerTable(this.table.tableId(), this);
  }

  get maxSubscribers(): number {
    return this.subscriberLimit === 2 ** 31 - 1 ? Infinity : this.subscriberLimit;
  }

  execute<T>(key: string, work: Work<T>): Promise<T> {
    const admitted = this.admit(key, work);
    return admitted instanceof Flight ? admitted.promise : Promise.reject(admitted);
  }

  /** execute() for a caller with an AbortSignal: it may leave before the flight settles. */
  executeWithSignal<T>(key: string, work: Work<T>, signal: AbortSignal): Promise<T> {
    if (signal.aborted) return alreadyAborted(key, signal);
    const admitted = this.admit(key, work);
    return admitted instanceof Flight ? this.watch(admitted, signal) : Promise.reject(admitted);
  }

  /** Go's Do: the value and whether it was delivered to more than one caller. */
  do<T>(key: string, work: Work<T>, signal: AbortSignal | undefined): Promise<{ value: T; shared: boolean }> {
    if (signal?.aborted) return alreadyAborted(key, signal);
    const admitted = this.admit(key, work);
    if (!(admitted instanceof Flight)) return Promise.reject(admitted);
    const settled = signal === undefined ? admitted.promise : this.watch(admitted, signal);
    return settled.then((value) => ({ value, shared: admitted.shared }));
  }

  /**
   * Counts the caller into the key's flight — this thread's, or a new or remote one through the
   * table — and returns that flight, or the error refusing the caller.
   */
  private admit<T>(key: string, work: Work<T>): Flight<T> | Error {
    const flight = this.flights.get(key) as Flight<T> | undefined;
    if (flight !== undefined && flight.joinable()) {
      const before = this.addCallers(flight, 1);
      if (before > 0 && before < this.subscriberLimit) {
        flight.lanes[flight.laneIndex]++;
        return flight;
      }
      this.addCallers(flight, -1);
      // A count of 0 means every caller left: the flight is doomed, so start afresh instead.
      if (before > 0) return new TooManySubscribersError(key, this.maxSubscribers);
    }
    return this.join(key, work, flight);
  }

  /** Adds `delta` to the flight's count of callers in all threads; returns the count before.
   * Atomics.add costs about 8 ns in Node 20: only a table shared with other threads needs it. */
  private addCallers(flight: AnyFlight, delta: number): number {
    if (!this.local) return Atomics.add(flight.counters, flight.totalIndex, delta);
    const before = flight.counters[flight.totalIndex];
    flight.counters[flight.totalIndex] = before + delta;
    return before;
  }

  /** The caller's own promise: settles with the flight, or rejects when its signal aborts. */
  private watch<T>(flight: Flight<T>, signal: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        reject(signal.reason);
        this.leaveCaller(flight);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      flight.promise.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  /** A caller stopped waiting: it no longer counts, and if nobody is left, the flight stops. */
  private leaveCaller(flight: AnyFlight): void {
    if (flight.done || flight.solo) return;
    const before = this.addCallers(flight, -1);
    if (--flight.lanes[flight.laneIndex] > 0) return;
    if (flight.leading) {
      // The leader's own callers leaving do not stop the work while others wait.
      if (before === 1) this.abandon(flight);
      return;
    }
    // None of this thread's callers waits for the other thread's flight any more.
    this.untrack(flight);
    this.stopFollowing(flight);
  }

  /** This thread no longer waits for another thread's flight (the flight is untracked). */
  private stopFollowing(flight: AnyFlight): void {
    bridge.stopWaiting(flight.flightId);
    this.table.leave(flight.key, flight.cell, flight.flightId);
  }

  /** Every caller of a flight this thread leads has left: stop the work, free the key. */
  private abandon(flight: AnyFlight): void {
    if (!this.untrack(flight)) return;
    // A thread that joined in the last instant is told to run its own work.
    this.settleAsLeader(flight, native.MESSAGE_FALLBACK, undefined);
    flight.abort(new DOMException('Every caller of this flight has left', 'AbortError'));
  }

  /** From another thread: the last callers of a flight this thread leads have left. */
  abandoned(key: string, cell: number): void {
    let flight = this.flights.get(key);
    if (flight === undefined || flight.cell !== cell) {
      flight = [...this.detached].find((f) => f.cell === cell && f.key === key);
    }
    if (flight === undefined || flight.done || !flight.leading) return;
    if (flight.lanes[flight.laneIndex] > 0) return; // a caller here joined meanwhile: go on for it
    this.abandon(flight);
  }

  /** Makes the key's flight unjoinable (process-wide); its callers keep it. */
  forget(key: string): boolean {
    const forgotten = this.table.forget(key);
    const flight = this.flights.get(key);
    if (flight !== undefined) {
      flight.tracked = false;
      this.flights.delete(key);
      if (!flight.done) this.detached.add(flight);
    }
    return forgotten;
  }

  stats(): { inFlightCount: number; totalSubscribers: number; oldestCallAge: number | null; cloneFailures: number } {
    const out = this.statsOut;
    this.table.stats(out);
    return {
      inFlightCount: out[0],
      totalSubscribers: out[1],
      oldestCallAge: out[2] < 0 ? null : Math.round(out[2]),
      cloneFailures: out[3],
    };
  }

  isInFlight(key: string): boolean {
    if (this.flights.get(key)?.joinable()) return true;
    return key.length <= MAX_KEY_LENGTH && this.table.has(key);
  }

  inFlightCount(): number {
    return this.table.size();
  }

  clear(): void {
    this.table.clear();
    for (const flight of this.flights.values()) {
      flight.tracked = false;
      this.detached.add(flight);
    }
    this.flights.clear();
  }

  // --- starting and joining ------------------------------------------------------------------

  /** `previous`: what this thread's Map holds for the key (unjoinable), if anything. */
  private join<T>(key: string, work: Work<T>, previous: AnyFlight | undefined): Flight<T> | Error {
    checkKeyLength(key);
    const joined = this.table.join(key);
    if (typeof joined !== 'number') return this.follow(key, work, joined, previous);
    const role = joined % 4;
    const cell = (joined - role) / 4;
    if (role === native.ROLE_REJECTED) return new TooManySubscribersError(key, this.maxSubscribers);
    if (role === native.ROLE_EXHAUSTED) return new FlightCapacityError(key);
    const flight = new Flight<T>(this, key, cell, cell, 0, this.cells);
    if (this.local) this.stampLocal(flight);
    this.track(flight, previous);
    this.run(flight, work);
    return flight;
  }

  /** Another thread leads this key's flight: wait for its message. */
  private follow<T>(
    key: string,
    work: Work<T>,
    [cell, flightId, lane]: [number, number, number],
    previous: AnyFlight | undefined,
  ): Flight<T> {
    const flight = new Flight<T>(this, key, cell, lane, flightId, this.cells);
    flight.work = work;
    this.track(flight, previous);
    bridge.startWaiting(flightId, flight);
    return flight;
  }

  private track(flight: AnyFlight, previous: AnyFlight | undefined): void {
    // A flight this thread still holds may have been made unjoinable elsewhere (clear() in
    // another thread, expiry): its callers keep waiting, and it can still expire here.
    if (previous !== undefined) {
      previous.tracked = false;
      if (!previous.done) this.detached.add(previous);
    }
    this.flights.set(flight.key, flight);
    flight.tracked = true;
    this.armSweep();
  }

  private run<T>(flight: Flight<T>, work: Work<T>): void {
    let result: T | PromiseLike<T>;
    try {
      result = work.length === 0 ? (work as () => T | PromiseLike<T>)() : work(flight.signal());
    } catch (error) {
      this.fail(flight, error);
      return;
    }
    if (isThenable(result)) {
      Promise.resolve(result).then(
        (value) => this.succeed(flight, value),
        (error: unknown) => this.fail(flight, error),
      );
    } else {
      this.succeed(flight, result);
    }
  }

  // --- settling ------------------------------------------------------------------------------

  private succeed<T>(flight: Flight<T>, value: T): void {
    if (this.finishLeading(flight, native.MESSAGE_VALUE, value)) flight.resolve(value);
  }

  private fail<T>(flight: Flight<T>, error: unknown): void {
    if (this.finishLeading(flight, native.MESSAGE_ERROR, error)) flight.reject(error);
  }

  /** Ends a flight this thread runs, sending the outcome to other threads if any wait. */
  private finishLeading<T>(flight: Flight<T>, kind: number, outcome: unknown): boolean {
    if (!this.untrack(flight)) return false;
    if (flight.solo) return true;
    // Read before settling, which takes this thread's callers off the count.
    const callers = this.local ? flight.counters[flight.totalIndex] : Atomics.load(flight.counters, flight.totalIndex);
    flight.shared = callers > 1;
    if (flight.shared) kind |= native.SHARED_FLAG;
    this.settleAsLeader(flight, kind, outcome);
    return true;
  }

  /** Ends the flight in the table; the outcome is prepared (serialized) only if another
   * thread actually waits for it. The waiting count is read without a lock; the table double-checks. */
  private settleAsLeader(flight: AnyFlight, kind: number, outcome: unknown): void {
    const settled = flight.waitedForElsewhere()
      ? native.SETTLE_NEEDS_PAYLOAD
      : this.table.settle(flight.key, flight.cell);
    if (settled === native.SETTLE_NEEDS_PAYLOAD) this.sendOutcome(flight, kind, outcome);
  }

  private sendOutcome(flight: AnyFlight, kind: number, outcome: unknown): void {
    let payload: Buffer | undefined;
    const base = kind & ~native.SHARED_FLAG;
    if (base === native.MESSAGE_VALUE || base === native.MESSAGE_ERROR) {
      payload = base === native.MESSAGE_VALUE ? wire.packValue(outcome) : wire.packError(outcome);
      if (payload === undefined) {
        kind = native.MESSAGE_FALLBACK;
        this.reportCloneFailure(flight.key, outcome);
      }
    }
    this.table.settle(flight.key, flight.cell, kind, payload);
  }

  private reportCloneFailure(key: string, outcome: unknown): void {
    if (this.table.countCloneFailure() !== 0) return;  // said once per table, process-wide
    const what = outcome === null ? 'null' : typeof outcome;
    process.emitWarning(
      `threadflight: the result of key ${JSON.stringify(key.slice(0, 120))} (a ${what}) cannot be cloned ` +
        'to other threads; callers waiting there run their own work instead. ' +
        'Return structured-cloneable values (no functions, symbols or class behaviour) to share them. ' +
        'getStats().cloneFailures counts these. This warning is shown once.',
      { code: 'THREADFLIGHT_UNCLONEABLE', type: 'ThreadflightWarning' },
    );
  }

  /** Takes the flight out of this thread's Map, once; false if that already happened. */
  private untrack(flight: AnyFlight): boolean {
    if (flight.done) return false;
    flight.done = true;
    if (flight.tracked) {
      flight.tracked = false;
      this.flights.delete(flight.key);
    }
    if (this.detached.size !== 0) this.detached.delete(flight);
    return true;
  }

  // --- messages from other threads -----------------------------------------------------------

  /** A message about a flight this thread waits for. Returns whether a lead was taken. */
  receive(flight: AnyFlight, kind: number, payload: Buffer | undefined): boolean {
    if (kind === native.MESSAGE_LEAD) {
      if (flight.done || flight.work === undefined) return false;
      const work = flight.work;
      flight.work = undefined;
      flight.leading = true;
      this.run(flight, work);
      return true;
    }
    if (!this.untrack(flight)) return false;
    flight.shared = (kind & native.SHARED_FLAG) !== 0;
    switch (kind & ~native.SHARED_FLAG) {
      case native.MESSAGE_VALUE:
        flight.resolve(wire.unpackValue(payload as Buffer));
        break;
      case native.MESSAGE_ERROR:
        flight.reject(wire.unpackError(payload as Buffer));
        break;
      case native.MESSAGE_EXPIRED:
        flight.reject(new FlightTimeoutError(flight.key, this.maxDuration));
        break;
      default:
        this.runSolo(flight);
    }
    return false;
  }

  /** The leader's value could not cross: this thread runs its own work, outside the table. */
  private runSolo(flight: AnyFlight): void {
    const work = flight.work as Work<unknown>;
    flight.work = undefined;
    flight.done = false;
    flight.solo = true;
    flight.leading = true;
    flight.startedMs = native.now();
    this.detached.add(flight);
    this.armSweep();
    this.run(flight, work);
  }

  // --- maxDuration ---------------------------------------------------------------------------
  // No timer per flight: one timer per group, due at the earliest deadline among its flights.
  // Flights that finish early cost nothing; the timer re-arms for whatever is then the oldest,
  // and stops when nothing is in the air. It is unref'd so it never delays a process that has
  // finished its work; if the event loop runs dry while a flight is still pending,
  // `holdOpenForExpiry` refs it, so that callers awaiting a stuck flight still get their
  // FlightTimeoutError.
  //
  // Nor a clock read per flight in an unnamed group (a Node-API call, about a tenth of a
  // miss): see stampLocal(). Named flights are stamped by the core when they join the table.

  /**
   * Gives a new local flight its start time. The first flight after a sweep reads the clock
   * and makes sure a sweep comes within stampPeriodMs; later ones share `openStamp`, which
   * that sweep fills with its own reading, later than their real start. So a flight never
   * expires early, and late by at most stampPeriodMs (a tenth of maxDuration, at most 100 ms)
   * plus however late the timer fires; getStats() counts an unstamped flight's age as 0.
   */
  private stampLocal(flight: AnyFlight): void {
    if (this.stampPending) {
      flight.pendingStamp = this.openStamp;
      return;
    }
    const now = native.now();
    flight.startedMs = now;
    this.stampPending = true;
    this.expiryDueMs = Math.min(this.expiryDueMs, now + this.maxDuration);
    if (this.sweepDueMs > now + this.stampPeriodMs) this.scheduleSweep(this.stampPeriodMs, now);
  }

  /** Starts the group's timer if it is not running. */
  private armSweep(): void {
    if (this.sweepTimer === undefined && this.maxDuration !== Infinity) this.scheduleSweep(this.maxDuration);
  }

  /** (Re)arms the sweep `delayMs` from now; `now` if known, to remember when it is due. */
  private scheduleSweep(delayMs: number, now?: number): void {
    if (this.sweepTimer !== undefined) clearTimeout(this.sweepTimer);
    const delay = Math.max(1, Math.ceil(delayMs));
    this.sweepTimer = setTimeout(this.sweep, delay);
    this.sweepTimer.unref();
    this.sweepDueMs = now === undefined ? Infinity : now + delay;
    pendingSweeps.add(this);
  }

  /** Called on 'beforeExit'. */
  holdOpenForExpiry(): void {
    if (this.flights.size !== 0 || this.detached.size !== 0) {
      if (this.maxDuration !== Infinity) this.sweepTimer?.ref();
      return;
    }
    clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    this.sweepDueMs = Infinity;
    this.expiryDueMs = Infinity;
    this.stampPending = false; // nothing waits for a stamp: the next flight reads the clock
    pendingSweeps.delete(this);
  }

  private readonly sweep = (): void => {
    this.sweepTimer = undefined;
    this.sweepDueMs = Infinity;
    pendingSweeps.delete(this);
    const now = native.now();
    let nextDue = this.expiryDueMs;
    if (this.stampPending) {
      // Every flight started since the last reading shares openStamp: one write stamps them all.
      this.stampPending = false;
      this.openStamp.ms = now;
      this.openStamp = { ms: NaN };
      nextDue = Math.min(nextDue, now + this.maxDuration);
    }
    // A named group checks every flight each time; a local one only once a deadline is due.
    const expired: Array<[AnyFlight, FlightTimeoutError]> = [];
    if (!this.local || nextDue <= now) nextDue = this.expireDue(now, expired);
    this.expiryDueMs = nextDue;
    if (nextDue !== Infinity) this.scheduleSweep(nextDue - now, now);
    // Last, once the timer is settled: aborting runs the work's listeners, which may start new
    // flights in this group (and arm the timer for them).
    for (const [flight, error] of expired) flight.abort(error);
  };

  /** Expires the flights past their deadline into `expired` (their signals still to abort);
   * returns the earliest deadline left. */
  private expireDue(now: number, expired: Array<[AnyFlight, FlightTimeoutError]>): number {
    let nextDue = Infinity;
    const check = (flight: AnyFlight): void => {
      const due = flight.started() + this.maxDuration;
      if (due <= now) {
        const error = this.expire(flight);
        if (error !== undefined) expired.push([flight, error]);
      } else if (due < nextDue) {
        nextDue = due;
      }
    };
    for (const flight of this.flights.values()) check(flight);
    for (const flight of this.detached) check(flight);
    return nextDue;
  }

  /** Rejects the flight's callers and takes it out of the table; returns the error for its
   * signal, or undefined if the flight was over already. */
  private expire(flight: AnyFlight): FlightTimeoutError | undefined {
    if (!this.untrack(flight)) return undefined;
    const error = new FlightTimeoutError(flight.key, this.maxDuration);
    if (flight.solo) {
      // nothing in the table
    } else if (flight.leading) {
      this.settleAsLeader(flight, native.MESSAGE_EXPIRED, undefined);
    } else {
      this.stopFollowing(flight);
    }
    flight.reject(error);
    return error;
  }
}
