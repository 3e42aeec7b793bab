// One flight as seen from one thread: the promise its callers here share, where this thread
// counts them, and what this thread's part in it is (its state).
import { isUnjoinable, markSharedUnjoinable, waitingThreads, SUBSCRIBERS, LANE } from './cells';
import type { Slot, Tracked } from './expiry';
import type { FlightTiming } from './timings';

export type Work<T> = (signal: AbortSignal) => T | PromiseLike<T>;

/**
 * This thread's part in a flight. Leading and Following flights are in their table; Solo
 * flights are not (the outcome of the flight they followed could not reach this thread, so it
 * runs its own work for its callers). Transitions: Following → Leading (a hand-over),
 * Following → Solo, and any → Settled, once.
 */
export const enum FlightState {
  Leading,
  Following,
  Solo,
  Settled,
}

/** A flight whose value type does not matter here (collections, bookkeeping). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFlight = Flight<any>;

export class Flight<T> implements Tracked<AnyFlight> {
  state: FlightState;
  readonly promise: Promise<T>;
  private resolvePromise!: (value: T) => void;
  private rejectPromise!: (reason: unknown) => void;
  /** counters[total]: callers of the flight in all threads (Atomics when the table is shared). */
  counters: Int32Array;
  total: number;
  /** Where the flight's cell starts in `counters` while the flight is in its table. */
  readonly base: number;
  /** lanes[lane]: callers of the flight in this thread, written only by this thread. */
  lanes: Int32Array;
  laneIndex: number;
  /** Start on the core clock, in ms: maxDuration counts from here. NaN until known (a table
   * that does not stamp its flights leaves it to lib/expiry.ts). */
  startedMs = NaN;
  /** This thread's timing of the flight's run and callers, if timings were on when the flight
   * arrived here (one field: an untimed flight stays small). */
  timing: FlightTiming | undefined = undefined;
  /** Callers here that joined after the first, not yet added to the table's counters. */
  joins = 0;
  /** The value reached more than one caller (do()'s `shared`); set before the promise settles. */
  shared = false;
  /** A following thread keeps its first caller's work, to run it if the flight comes its way. */
  work: Work<T> | undefined;
  private controller: AbortController | undefined;
  /** Where lib/expiry.ts keeps the flight until it settles. */
  slot: Slot<AnyFlight> | undefined;
  prevInSlot: AnyFlight | undefined;
  nextInSlot: AnyFlight | undefined;

  constructor(
    readonly key: string,
    /** The flight's cell: its identity in the table. */
    readonly cell: number,
    /** This thread's lane cell: where its callers are counted. */
    readonly lane: number,
    /** Process-wide id (0 in an unnamed table). */
    readonly id: number,
    state: FlightState,
    cellPage: Int32Array,
    cellBase: number,
    lanePage: Int32Array,
    laneBase: number,
  ) {
    this.state = state;
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolvePromise = resolve;
      this.rejectPromise = reject;
    });
    this.counters = cellPage;
    this.base = cellBase;
    this.total = cellBase + SUBSCRIBERS;
    this.lanes = lanePage;
    this.laneIndex = laneBase + LANE;
  }

  /** Settles the callers' promise with the value. */
  resolve(value: T): void {
    this.timing?.settled();
    this.resolvePromise(value);
  }

  /** Settles the callers' promise with the error. */
  reject(reason: unknown): void {
    this.timing?.settled();
    this.rejectPromise(reason);
  }

  /** Whether this thread runs the work (Leading, or Solo). */
  runsHere(): boolean {
    return this.state === FlightState.Leading || this.state === FlightState.Solo;
  }

  /** Callers in this thread still waiting. */
  callersHere(): number {
    return this.lanes[this.laneIndex];
  }

  /** Whether new callers may join: false once any thread made it unjoinable (forget, clear,
   * expiry, settling). Only meaningful while the flight is Leading or Following. */
  joinable(): boolean {
    return !isUnjoinable(this.counters, this.base);
  }

  /** Whether threads other than this one wait for the outcome (read without a lock: the table
   * double-checks when settling). */
  waitedForElsewhere(): boolean {
    return waitingThreads(this.counters, this.base) !== 0;
  }

  /** No caller joins it any more, in any thread (a shared table's flight). */
  close(): void {
    markSharedUnjoinable(this.counters, this.base);
  }

  /** Leaves the table: from now on its callers (this thread's alone) are counted here. */
  goSolo(): void {
    const callers = this.callersHere();
    const own = new Int32Array([callers, callers]);
    this.counters = own;
    this.total = 0;
    this.lanes = own;
    this.laneIndex = 1;
    this.state = FlightState.Solo;
  }

  /** The signal handed to work, created on demand: an AbortSignal costs more than a flight. */
  signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    this.controller?.abort(reason);
  }
}
