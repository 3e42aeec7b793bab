// One flight as seen from one thread: the promise its callers in this thread share, and
// where this thread counts them.
import type { RemoteWaiter } from './bridge';
import * as native from './native';

export type Work<T> = (signal: AbortSignal) => T | PromiseLike<T>;

/** What a flight's owner does for it; implemented by ThreadGroup. */
export interface FlightOwner {
  receive(flight: AnyFlight, kind: number, payload: Buffer | undefined): boolean;
}

/** A flight whose value type does not matter here (collections, the owner's bookkeeping). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFlight = Flight<any>;

/** The start time shared by the local flights begun between two clock readings of their
 * group; NaN until the next reading fills it (see ThreadGroup.stampLocal). */
export interface PendingStamp {
  ms: number;
}

export class Flight<T> implements RemoteWaiter {
  readonly promise: Promise<T>;
  resolve!: (value: T) => void;
  reject!: (reason: unknown) => void;
  /** Callers of the flight in all threads: counters[totalIndex] (Atomics when the table is shared). */
  readonly counters: Int32Array;
  readonly totalIndex: number;
  /** Callers in this thread: lanes[laneIndex], written only by this thread. */
  readonly lanes: Int32Array;
  readonly laneIndex: number;
  /** Start in native.now() milliseconds; maxDuration counts from here. Read it through
   * started(): a local flight may wait for its group's next clock reading (pendingStamp). */
  startedMs: number;
  pendingStamp: PendingStamp | undefined;
  /** This thread runs the work (it started the flight, or it was handed over). */
  leading: boolean;
  /** The work is run by this thread alone, outside the table (the value could not cross). */
  solo = false;
  /** Taken out of the table and of its thread's Map; its callers are answered or about to be. */
  done = false;
  /** It is the flight its ThreadGroup's Map holds for its key. */
  tracked = false;
  /** The value reached more than one caller (do()'s `shared`); set before the promise settles. */
  shared = false;
  /** A waiting thread keeps its first caller's work, to run it if the flight comes its way. */
  work: Work<T> | undefined;
  private controller: AbortController | undefined;

  constructor(
    private readonly owner: FlightOwner,
    readonly key: string,
    readonly cell: number,
    lane: number,
    /** Process-wide id; 0 for a flight this thread started. */
    readonly flightId: number,
    cells: native.CellMemory,
  ) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.counters = cells.int32Page(cell);
    this.totalIndex = cells.int32Index(cell) + native.FIELD_TOTAL;
    this.lanes = cells.int32Page(lane);
    this.laneIndex = cells.int32Index(lane) + native.FIELD_LANE;
    this.startedMs = cells.startedAt(cell);
    this.leading = flightId === 0;
  }

  /** The start time, or NaN while the flight's group has not read the clock since it began. */
  started(): number {
    if (Number.isNaN(this.startedMs) && this.pendingStamp !== undefined) this.startedMs = this.pendingStamp.ms;
    return this.startedMs;
  }

  /** Whether threads other than this one wait for the outcome (read without a lock: the
   * table double-checks when settling). */
  waitedForElsewhere(): boolean {
    return this.counters[this.totalIndex - native.FIELD_TOTAL + native.FIELD_WAITING_THREADS] !== 0;
  }

  /** Whether new callers may still join: false once any thread cleared it, or it expired or
   * is settling. Only meaningful while this thread still holds the flight (!done). */
  joinable(): boolean {
    return this.counters[this.totalIndex - native.FIELD_TOTAL + native.FIELD_DETACHED] === 0;
  }

  /** The signal handed to work; created on demand because an AbortSignal costs ~3 µs. */
  signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    this.controller?.abort(reason);
  }

  receive(kind: number, payload: Buffer | undefined): boolean {
    return this.owner.receive(this, kind, payload);
  }
}
