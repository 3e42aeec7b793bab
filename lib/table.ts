// What a thread's side of a table offers the Coalescer. Two kinds implement it: the native
// table of a name, shared by every thread of the process (native-table.ts), and the table of an
// unnamed instance, which shares nothing and lives in JavaScript (local-table.ts). Each keeps
// this thread's joinable flights by key, so a duplicate caller in the thread is served by a
// lookup and an increment.
import type { AnyFlight } from './flight';
import { protocol } from './protocol';
import { SteadyMap } from './steady-map';
import type { Timings } from './timings';

/** What happened to a table's flights and callers (for a named table, in every thread). */
export interface TableCounters {
  flightsStarted: number;
  joinedSameThread: number;
  joinedOtherThread: number;
  servedByOtherProcess: number;
  workErrors: number;
  timeouts: number;
  rejected: number;
  aborted: number;
  takeovers: number;
}

/** A flight still in the air (or still running past its maxDuration), for a health check. */
export interface FlightReport {
  /** A hash of the key: stable within the process, not reversible. */
  keyHash: string;
  /** Milliseconds since the flight started. */
  age: number;
  /** worker_threads.threadId of the thread running its work (-1 if unknown). */
  thread: number;
  /** Callers waiting, in every thread. */
  callers: number;
  /** False once the flight no longer takes callers (past maxDuration, forgotten, cleared) while its work still runs. */
  joinable: boolean;
}

export interface TableStats extends TableCounters, Timings {
  inFlightCount: number;
  totalSubscribers: number;
  oldestCallAge: number | null;
  cloneFailures: number;
}

/** Indices of this thread's counters (protocol.flightCounter). */
export const Counter = protocol.flightCounter;

/** The counters in `lane` (indexed by Counter), from `at` on. */
export function countersOf(lane: Float64Array, at = 0): TableCounters {
  return {
    flightsStarted: lane[at + Counter.flightsStarted],
    joinedSameThread: lane[at + Counter.joinedSameThread],
    joinedOtherThread: lane[at + Counter.joinedOtherThread],
    servedByOtherProcess: lane[at + Counter.servedByOtherProcess],
    workErrors: lane[at + Counter.workErrors],
    timeouts: lane[at + Counter.timeouts],
    rejected: lane[at + Counter.rejected],
    aborted: lane[at + Counter.aborted],
    takeovers: lane[at + Counter.takeovers],
  };
}

/** How a flight ends. */
export const enum Ending {
  /** The work returned a value (the outcome). */
  Value,
  /** The work threw or rejected (the outcome is what it threw). */
  Error,
  /** The flight ran past maxDuration. */
  Expired,
  /** Nobody waits any more: threads that joined meanwhile run their own work. */
  Abandoned,
}

/** What a table tells its Coalescer about flights, when another thread decides their fate. */
export interface TableEvents {
  /** The flight ended in the thread that ran it (Value, Error or Expired); `shared`: the
   * value reached more than one caller. */
  settledElsewhere(flight: AnyFlight, ending: Ending, outcome: unknown, shared: boolean): void;
  /** The flight's outcome could not reach this thread: run the work here, for its callers. */
  runHere(flight: AnyFlight): void;
  /** The flight's leader is gone and this thread leads it now; false if it cannot. */
  takeLead(flight: AnyFlight): boolean;
  /** Every caller of a flight this thread leads has left, in every thread. */
  abandoned(flight: AnyFlight): void;
}

export abstract class Table {
  /** This thread's flights by key: the ones new callers here may join (if still joinable). */
  protected readonly flights = new SteadyMap<string, AnyFlight>();
  /** This thread's counters (indexed by Counter): written by this thread only. */
  abstract readonly counters: Float64Array;

  /** This thread's flight for `key`, joinable or not (see Flight.joinable). */
  lookup(key: string): AnyFlight | undefined {
    return this.flights.get(key);
  }

  /** This thread's flights by key (see lookup()). */
  flightsHere(): IterableIterator<AnyFlight> {
    return this.flights.values();
  }

  /** Adds `delta` to the flight's count; returns the count before. The count is of callers in
   * all threads under a limit, and of lanes (threads' parts) with callers without one: it is 0
   * exactly when nobody waits (see Cell::subscribers in src/core/cell_arena.h). */
  abstract addCallers(flight: AnyFlight, delta: number): number;

  /**
   * Counts one more caller (or lane) into the flight if it has room (a count above 0, the
   * flight not doomed, and below `limit`); returns the count before, whether or not it counted.
   */
  abstract countIn(flight: AnyFlight, limit: number): number;

  /**
   * Starts the key's flight (Leading) or joins the one another thread leads (Following), and
   * keeps it as this thread's flight for the key in place of `previous` (what lookup() found,
   * an unjoinable flight or nothing); or returns the Role refusing the caller.
   */
  abstract join(key: string, previous: AnyFlight | undefined): AnyFlight | number;

  /**
   * Ends a flight this thread leads; `outcome` is the value or the thrown value. Threads still
   * waiting get it, or run their own work if it cannot reach them. Returns whether it reached
   * another thread.
   */
  abstract finish(flight: AnyFlight, ending: Ending, outcome: unknown): boolean;

  /** This thread stops following the flight (only a Following flight, of a shared table). */
  abstract leave(flight: AnyFlight): void;

  abstract forget(key: string): boolean;
  abstract clear(): void;
  abstract has(key: string): boolean;
  abstract size(): number;
  abstract stats(): TableStats;
  /** Turns the histograms on: for a shared table, in every thread, for good. */
  abstract enableTimings(): void;
  /** Flights not over that started at least `olderThan` ms ago, oldest first, at most `limit`. */
  abstract flightsOlderThan(olderThan: number, limit: number): FlightReport[];

  /** The flight is no longer this thread's flight for its key; false if it was not (any more).
   * Identity checked: a newer flight of the same key keeps its place. A flight still joinable
   * is always its key's entry (only unjoinable flights are ever replaced): no lookup then. */
  protected untrack(flight: AnyFlight): boolean {
    if (!flight.joinable() && this.flights.get(flight.key) !== flight) return false;
    this.flights.delete(flight.key);
    return true;
  }
}
