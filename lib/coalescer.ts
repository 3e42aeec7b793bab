// Coalescer: one thread's coalescing for one table — admission (a duplicate caller joins the
// flight in the air), leading (running the work), settling (answering the callers), and what
// the table and the expiry tell it. Every instance of a name in this thread shares one; an
// unnamed instance has its own. What differs between the two kinds of table is in the tables.
import { FlightCapacityError, FlightTimeoutError, TooManySubscribersError } from './errors';
import { Flight, FlightState, type AnyFlight, type Work } from './flight';
import { Deadlines } from './expiry';
import { LocalTable } from './local-table';
import { NativeTable } from './native-table';
import { MAX_KEY_LENGTH, UNLIMITED_SUBSCRIBERS, type ResolvedOptions } from './options';
import { Role } from './protocol';
import { Counter, Ending, type FlightReport, type Table, type TableEvents, type TableStats } from './table';
import { FlightTiming, observeRun, observeWait, selfTimed, startTiming, timingsOn, UNTIMED } from './timings';
import { startWork } from './work';
import { performance } from 'node:perf_hooks';

/** A key too long is a programming error, thrown synchronously (not an outcome). */
function checkKeyLength(key: string): void {
  if (key.length > MAX_KEY_LENGTH) throwKeyTooLong(key);
}

function throwKeyTooLong(key: string): never {
  throw new RangeError(
    `Singleflight key is ${key.length} characters long; the limit is MAX_KEY_LENGTH (${MAX_KEY_LENGTH})`,
  );
}

/** When an admitted caller's wait began: for the caller whose call started the run here, when
 * the run started (the work's synchronous part included); for any other, now (admission took
 * next to nothing). Read after admission, so that an untimed call reads no clock. */
function waitStart(timing: FlightTiming, flight: AnyFlight): number {
  return flight.joins === 0 && timing.runStartedAt !== UNTIMED ? timing.runStartedAt : performance.now();
}

/** A caller whose signal aborted already: refused without running work (its key still checked). */
function alreadyAborted(key: string, signal: AbortSignal): Promise<never> {
  checkKeyLength(key);
  return Promise.reject(abortReason(signal));
}

/** The signal's reason, or what reading it threw (a signal may be given hostile getters). */
function abortReason(signal: AbortSignal): unknown {
  try {
    return signal.reason;
  } catch (error) {
    return error;
  }
}

const {
  flightsStarted: FLIGHTS_STARTED,
  joinedSameThread: JOINED_SAME_THREAD,
  joinedOtherThread: JOINED_OTHER_THREAD,
  servedByOtherProcess: SERVED_BY_OTHER_PROCESS,
  workErrors: WORK_ERRORS,
  timeouts: TIMEOUTS,
  rejected: REJECTED,
  aborted: ABORTED,
  takeovers: TAKEOVERS,
} = Counter;

/** What became of a caller finding a flight for its key in this thread. */
const enum JoinHere {
  joined,
  /** Unjoinable (forgotten, cleared, expired, ending) or doomed: a new flight is started. */
  startAfresh,
  /** At maxSubscribers: the caller is turned away. */
  full,
}

export class Coalescer implements TableEvents {
  readonly name: string | undefined;
  /** Callers allowed per flight; UNLIMITED_SUBSCRIBERS when unlimited. */
  readonly subscriberLimit: number;
  readonly maxDuration: number;
  private readonly table: Table;
  private readonly deadlines: Deadlines<AnyFlight>;
  /** Set when a caller is turned away or its signal had aborted already (it joined nothing):
   * tracing clears it before a call and reads it after. Only refusals write it. */
  refusedLast = false;

  constructor(options: ResolvedOptions) {
    this.name = options.name;
    this.subscriberLimit = options.maxSubscribers;
    this.maxDuration = options.maxDuration;
    this.table =
      options.name === undefined ? new LocalTable() : new NativeTable({ ...options, name: options.name }, this);
    this.deadlines = new Deadlines<AnyFlight>(
      options.maxDuration,
      (flights) => this.expireAll(flights),
      () => this.table.flightsHere(),
    );
  }

  get maxSubscribers(): number {
    return this.subscriberLimit === UNLIMITED_SUBSCRIBERS ? Infinity : this.subscriberLimit;
  }

  execute<T>(key: string, work: Work<T>): Promise<T> {
    const flight = this.table.lookup(key) as Flight<T> | undefined;
    // No flight for the key here: start one (straight to start(), whose path V8 must inline
    // whole, the flight's constructor included).
    if (flight === undefined) return this.answer(this.start(key, work, undefined));
    // A duplicate caller of an untimed flight, on a path short enough to be inlined whole into
    // the caller's: it shares the flight's promise.
    if (flight.timing === undefined && this.joinHere(flight) === JoinHere.joined) return flight.promise;
    return this.answer(this.admit(key, work, flight));
  }

  /** execute()'s answer to a caller admitted to a flight (or refused, with the error). */
  private answer<T>(admitted: Flight<T> | Error): Promise<T> {
    if (!(admitted instanceof Flight)) return Promise.reject(admitted);
    // The flight's own promise, timed or not: the callers of a flight share it.
    const timing = admitted.timing;
    if (timing !== undefined) timing.addWait(waitStart(timing, admitted));
    return admitted.promise;
  }

  /** execute() for a caller with an AbortSignal: it may leave before the flight settles. */
  executeWithSignal<T>(key: string, work: Work<T>, signal: AbortSignal): Promise<T> {
    if (signal.aborted) {
      this.refusedLast = true;
      return alreadyAborted(key, signal);
    }
    const admitted = this.admit(key, work, this.table.lookup(key) as Flight<T> | undefined);
    if (!(admitted instanceof Flight)) return Promise.reject(admitted);
    const timing = admitted.timing;
    return this.watch(admitted, signal, timing === undefined ? UNTIMED : waitStart(timing, admitted));
  }

  /** Go's Do: the value and whether it was delivered to more than one caller. */
  do<T>(key: string, work: Work<T>, signal: AbortSignal | undefined): Promise<{ value: T; shared: boolean }> {
    if (signal?.aborted) return alreadyAborted(key, signal);
    const admitted = this.admit(key, work, this.table.lookup(key) as Flight<T> | undefined);
    if (!(admitted instanceof Flight)) return Promise.reject(admitted);
    const timing = admitted.timing;
    const startedAt = timing === undefined ? UNTIMED : waitStart(timing, admitted);
    let settled: Promise<T>;
    if (signal !== undefined) settled = this.watch(admitted, signal, startedAt);
    else {
      timing?.addWait(startedAt);
      settled = admitted.promise;
    }
    return settled.then((value) => ({ value, shared: admitted.shared }));
  }

  forget(key: string): boolean {
    const flight = this.table.lookup(key);
    const forgotten = this.table.forget(key);
    // Still in the air, out of the table (a named table's flight may be another thread's).
    if (forgotten && flight !== undefined) this.deadlines.keep(flight);
    return forgotten;
  }

  clear(): void {
    for (const flight of this.table.flightsHere()) this.deadlines.keep(flight);
    this.table.clear();
  }

  isInFlight(key: string): boolean {
    return key.length <= MAX_KEY_LENGTH && this.table.has(key);
  }

  inFlightCount(): number {
    return this.table.size();
  }

  stats(): TableStats {
    return this.table.stats();
  }

  enableTimings(): void {
    this.table.enableTimings();
  }

  flights(olderThan: number, limit: number): FlightReport[] {
    return this.table.flightsOlderThan(olderThan, limit);
  }

  /** Runs `work` for a coordinator (see Singleflight), timed as a run of this table's if
   * timings are on: the Coalescer does not time the coordinator's wrapper (selfTimed). */
  runTimed<T>(work: Work<T>, signal: AbortSignal): T | PromiseLike<T> {
    const lane = this.table.counters;
    const startedAt = startTiming(lane);
    if (startedAt === UNTIMED) return work(signal);
    let result: T | PromiseLike<T>;
    try {
      result = work(signal);
    } catch (error) {
      observeRun(lane, startedAt);
      throw error;
    }
    const observed = (): void => observeRun(lane, startedAt);
    // The coordinator adopts the result: a native promise observed, as it would be followed.
    return Promise.resolve(result).then(
      (value) => {
        observed();
        return value;
      },
      (error: unknown) => {
        observed();
        throw error;
      },
    );
  }

  /** Whether the key's flight here, if any, is led by another thread (for tracing, right after
   * a caller was admitted to it). */
  followsElsewhere(key: string): boolean {
    return this.table.lookup(key)?.state === FlightState.Following;
  }

  /** A flight of this process was answered by another process's work (see Singleflight). */
  servedByOtherProcess(): void {
    this.table.counters[SERVED_BY_OTHER_PROCESS]++;
  }

  // --- admission -----------------------------------------------------------------------------

  /**
   * Counts the caller into the key's flight — this thread's (`flight`, what table.lookup()
   * found), or a new or remote one through the table — and returns that flight, or the error
   * refusing the caller.
   */
  private admit<T>(key: string, work: Work<T>, flight: Flight<T> | undefined): Flight<T> | Error {
    if (flight !== undefined) {
      const joined = this.joinHere(flight);
      if (joined === JoinHere.joined) return flight;
      if (joined === JoinHere.full) return this.refuse(key, Role.rejected);
    }
    return this.start(key, work, flight);
  }

  /** Counts a caller into this thread's flight for its key, if the flight takes it. Without a
   * limit, a lane that has callers counts in the flight's total once (see Cell::subscribers in
   * src/core/cell_arena.h): the caller counts in its lane alone, with no atomic operation. */
  private joinHere(flight: AnyFlight): JoinHere {
    if (!flight.joinable()) return JoinHere.startAfresh;
    if (this.subscriberLimit === UNLIMITED_SUBSCRIBERS && flight.lanes[flight.laneIndex] > 0) {
      flight.lanes[flight.laneIndex]++;
      flight.joins++;
      return JoinHere.joined;
    }
    const before = this.table.countIn(flight, this.subscriberLimit);
    if (before > 0 && before < this.subscriberLimit) {
      flight.lanes[flight.laneIndex]++;
      flight.joins++;
      return JoinHere.joined;
    }
    // A count of 0 means every caller left: the flight is doomed, so start afresh instead.
    return before > 0 ? JoinHere.full : JoinHere.startAfresh;
  }

  /** Turns the caller away: Role.rejected (maxSubscribers), else the table is full. */
  private refuse(key: string, role: number): Error {
    this.refusedLast = true;
    this.table.counters[REJECTED]++;
    return role === Role.rejected
      ? new TooManySubscribersError(key, this.maxSubscribers)
      : new FlightCapacityError(key);
  }

  /** No flight here to join: starts the key's flight, or joins the one another thread leads.
   * (Kept apart from admit(), whose duplicate-caller path stays short.) */
  private start<T>(key: string, work: Work<T>, previous: Flight<T> | undefined): Flight<T> | Error {
    // checkKeyLength() and the counting below (repeated in follow()) are written out on purpose,
    // to stay within V8's inlining budget: calling checkKeyLength() left the flight's
    // constructor out on Node 24, and sharing the counting with follow() left the expiry's
    // count() out on Node 22 (npm run bench:inlining shows what is left out).
    if (key.length > MAX_KEY_LENGTH) throwKeyTooLong(key);
    const joined = this.table.join(key, previous);
    if (typeof joined === 'number') return this.refuse(key, joined);
    const started = joined as Flight<T>;
    if (started.state === FlightState.Following) return this.follow(started, work);
    const counters = this.table.counters;
    counters[FLIGHTS_STARTED]++;
    if (timingsOn(counters)) started.timing = new FlightTiming(counters);
    this.track(started);
    this.deadlines.holdLoop();
    this.lead(started, work);
    return started;
  }

  /** Joined another thread's flight: keeps the caller's work, in case the flight comes here. */
  private follow<T>(flight: Flight<T>, work: Work<T>): Flight<T> {
    const counters = this.table.counters;
    counters[JOINED_OTHER_THREAD]++;
    if (timingsOn(counters)) flight.timing = new FlightTiming(counters);
    this.track(flight);
    flight.work = work;
    return flight;
  }

  /** Hands a new flight to the expiry. A table that stamps its flights (a named one) knows when
   * this one started. */
  private track(flight: AnyFlight): void {
    if (Number.isNaN(flight.startedMs)) this.deadlines.addStarting(flight);
    else this.deadlines.addStarted(flight);
  }

  /**
   * The caller's own promise: settles with the flight, or rejects when its signal aborts. The
   * flight's promise is handled first, so whatever the signal does (its methods may throw), the
   * flight's outcome is never an unhandled rejection. A caller timed (`startedAt` not UNTIMED)
   * has its wait observed when it is answered, whichever way.
   */
  private watch<T>(flight: Flight<T>, signal: AbortSignal, startedAt: number): Promise<T> {
    const lane = this.table.counters;
    return new Promise<T>((resolve, reject) => {
      let answered = false;
      let listening = false;
      const stopListening = (): void => {
        if (!listening) return;
        listening = false;
        try {
          signal.removeEventListener('abort', onAbort);
        } catch {
          // It stays registered: aborting later finds the caller answered.
        }
      };
      /** The caller is answered (once). */
      const answer = (): boolean => {
        if (answered) return false;
        answered = true;
        stopListening();
        if (startedAt !== UNTIMED) observeWait(lane, startedAt);
        return true;
      };
      /** The caller stops waiting (once: a signal may report its abort more than once). */
      const leave = (reason: unknown): void => {
        if (!answer()) return;
        reject(reason);
        this.leaveCaller(flight);
      };
      const onAbort = (): void => {
        if (!answered) this.table.counters[ABORTED]++;
        leave(abortReason(signal));
      };
      flight.promise.then(
        (value) => {
          if (answer()) resolve(value);
        },
        (error: unknown) => {
          if (answer()) reject(error);
        },
      );
      try {
        signal.addEventListener('abort', onAbort, { once: true });
        listening = true;
      } catch (error) {
        leave(error); // the caller cannot be told of an abort: it stops waiting now
        return;
      }
      // The work runs synchronously before this: it may have aborted the signal already.
      if (signal.aborted) onAbort();
    });
  }

  /** A caller stopped waiting: it no longer counts, and if nobody is left, the flight stops. */
  private leaveCaller(flight: AnyFlight): void {
    if (flight.state === FlightState.Settled) return;
    let before: number;
    if (flight.state === FlightState.Solo) {
      // A Solo flight's count is this thread's own (see Flight.goSolo).
      before = flight.counters[flight.total]--;
      if (--flight.lanes[flight.laneIndex] > 0) return;
    } else if (this.subscriberLimit === UNLIMITED_SUBSCRIBERS) {
      // The lane leaves the total with its last caller (see joinHere).
      if (--flight.lanes[flight.laneIndex] > 0) return;
      before = this.table.addCallers(flight, -1);
    } else {
      before = this.table.addCallers(flight, -1);
      if (--flight.lanes[flight.laneIndex] > 0) return;
    }
    if (flight.state === FlightState.Following) {
      // None of this thread's callers waits for the other thread's flight any more.
      this.table.leave(flight);
      this.end(flight);
    } else if (before === 1) {
      // The last caller anywhere left: stop the work. (The leader's own callers leaving do not
      // stop it while others, elsewhere, wait.)
      this.abandon(flight);
    }
  }

  // --- leading -------------------------------------------------------------------------------

  private lead<T>(flight: Flight<T>, work: Work<T>): void {
    if (flight.timing !== undefined && !selfTimed.has(work)) flight.timing.startRun();
    startWork(
      work,
      flight,
      (value) => this.succeed(flight, value),
      (error) => this.fail(flight, error),
    );
  }

  private succeed<T>(flight: Flight<T>, value: T): void {
    flight.timing?.endRun();
    if (!this.finishLeading(flight, Ending.Value, value)) return;
    flight.resolve(value);
  }

  private fail<T>(flight: Flight<T>, error: unknown): void {
    flight.timing?.endRun();
    if (!this.finishLeading(flight, Ending.Error, error)) return;
    this.table.counters[WORK_ERRORS]++;
    flight.reject(error);
  }

  /** Ends a flight this thread runs (unless it ended already: expired, abandoned). */
  private finishLeading(flight: AnyFlight, ending: Ending, outcome: unknown): boolean {
    if (!flight.runsHere()) return false;
    const callersHere = flight.callersHere();
    const reachedElsewhere = flight.state === FlightState.Leading && this.table.finish(flight, ending, outcome);
    flight.shared = callersHere > 1 || reachedElsewhere;
    this.end(flight);
    return true;
  }

  /** Every caller of a flight this thread leads has left: stop the work, free the key. */
  private abandon(flight: AnyFlight): void {
    // A thread that joined in the last instant is told to run its own work.
    if (flight.state === FlightState.Leading) this.table.finish(flight, Ending.Abandoned, undefined);
    this.end(flight);
    flight.abort(new DOMException('Every caller of this flight has left', 'AbortError'));
  }

  /** This thread's part in the flight is over; its callers are answered next, if at all. */
  private end(flight: AnyFlight): void {
    if (flight.joins !== 0) this.countJoins(flight);
    if (flight.runsHere()) this.deadlines.releaseLoop();
    flight.state = FlightState.Settled;
    flight.work = undefined;
    this.deadlines.remove(flight);
  }

  /** Adds the callers that joined the flight here to the counters: counted per flight, not per
   * caller, to keep a duplicate call short. */
  private countJoins(flight: AnyFlight): void {
    const counter = flight.state === FlightState.Leading ? JOINED_SAME_THREAD : JOINED_OTHER_THREAD;
    this.table.counters[counter] += flight.joins;
    flight.joins = 0;
  }

  // --- what the table says (messages from other threads) --------------------------------------

  settledElsewhere(flight: AnyFlight, ending: Ending, outcome: unknown, shared: boolean): void {
    if (flight.state !== FlightState.Following) return;
    if (ending === Ending.Expired) this.table.counters[TIMEOUTS] += flight.callersHere();
    this.end(flight);
    flight.shared = shared;
    if (ending === Ending.Value) flight.resolve(outcome);
    else if (ending === Ending.Error) flight.reject(outcome);
    else flight.reject(new FlightTimeoutError(flight.key, this.maxDuration));
  }

  /** The outcome could not reach this thread: it runs its own work, outside the table. The
   * deadline stays the flight's: its callers have waited since it started. */
  runHere(flight: AnyFlight): void {
    if (flight.state !== FlightState.Following) return;
    const work = flight.work as Work<unknown>;
    flight.work = undefined;
    flight.goSolo();
    this.deadlines.holdLoop();
    this.lead(flight, work);
  }

  takeLead(flight: AnyFlight): boolean {
    if (flight.state !== FlightState.Following || flight.work === undefined) return false;
    const work = flight.work;
    flight.work = undefined;
    if (flight.joins !== 0) this.countJoins(flight); // they joined while another thread led it
    flight.state = FlightState.Leading;
    this.table.counters[TAKEOVERS]++;
    this.deadlines.holdLoop();
    this.lead(flight, work);
    return true;
  }

  abandoned(flight: AnyFlight): void {
    // A caller here that joined meanwhile keeps the work going.
    if (flight.state === FlightState.Leading && flight.callersHere() === 0) this.abandon(flight);
  }

  // --- maxDuration ---------------------------------------------------------------------------

  /** Rejects the callers of flights past their deadline, then aborts their work's signals
   * (last: abort listeners may start new flights). */
  private expireAll(flights: AnyFlight[]): void {
    const expired: Array<[AnyFlight, FlightTimeoutError]> = [];
    for (const flight of flights) {
      const state = flight.state;
      if (state === FlightState.Settled) continue;
      // Read first: finishing the flight in the table takes this thread's callers off it.
      this.table.counters[TIMEOUTS] += flight.callersHere();
      if (state === FlightState.Leading) this.table.finish(flight, Ending.Expired, undefined);
      else if (state === FlightState.Following) this.table.leave(flight);
      this.end(flight);
      const error = new FlightTimeoutError(flight.key, this.maxDuration);
      flight.reject(error);
      expired.push([flight, error]);
    }
    for (const [flight, error] of expired) flight.abort(error);
  }
}
