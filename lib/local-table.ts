// LocalTable: the table of an unnamed instance. Such an instance never shares a flight with
// another instance or thread, so a process-global table would only add two Node-API calls
// per flight; this one lives in JavaScript and keeps the same cell layout, so ThreadGroup
// and Flight treat both kinds alike. Its entries are the owning ThreadGroup's Map of flights
// (the same thing), so a flight costs no Map operation here.
import type { AnyFlight } from './flight';
import * as native from './native';
import type { SteadyMap } from './steady-map';

// Small pages: instances may be short-lived (one per request, say), so the first page is cheap.
const CELLS_PER_PAGE = 64;
const INT32_PER_CELL = 8;

export class LocalTable implements native.NativeGroup, native.CellMemory {
  private readonly free: number[] = [];
  private readonly int32Pages: Int32Array[] = [];
  private allocated = 0;

  /** `flights`: the owning ThreadGroup's joinable flights by key, kept up to date by it. */
  constructor(private readonly flights: SteadyMap<string, AnyFlight>) {}

  join(): number {
    const cell = this.take();
    const page = this.int32Page(cell);
    const at = this.int32Index(cell);
    page[at + native.FIELD_TOTAL] = 1;
    page[at + native.FIELD_LANE] = 1;
    page[at + native.FIELD_WAITING_THREADS] = 0;
    page[at + native.FIELD_DETACHED] = 0;
    return cell * 4 + native.ROLE_LEADER;
  }

  /** Nobody else ever waits here, so settling always ends the flight. */
  settle(_key: string, cell: number): number {
    this.markDetached(cell);
    this.free.push(cell);
    return native.SETTLE_DONE;
  }

  leave(): number {
    return native.LEAVE_NOT_WAITING; // no thread ever follows a local flight
  }

  has(key: string): boolean {
    return this.flights.get(key)?.joinable() === true;
  }

  size(): number {
    let joinable = 0;
    for (const flight of this.flights.values()) if (flight.joinable()) joinable++;
    return joinable;
  }

  /** Called before the ThreadGroup empties its Map. */
  clear(): number {
    let cleared = 0;
    for (const flight of this.flights.values()) {
      if (!flight.joinable()) continue;
      this.markDetached(flight.cell);
      cleared++;
    }
    return cleared;
  }

  /** Called before the ThreadGroup drops the key from its Map. */
  forget(key: string): boolean {
    const flight = this.flights.get(key);
    if (flight === undefined || !flight.joinable()) return false;
    this.markDetached(flight.cell);
    return true;
  }

  stats(out: Float64Array): void {
    let inFlight = 0;
    let subscribers = 0;
    let oldest = Infinity;
    for (const flight of this.flights.values()) {
      if (!flight.joinable()) continue;
      inFlight++;
      subscribers += flight.counters[flight.totalIndex];
      const started = flight.started();
      if (started < oldest) oldest = started; // false for NaN: not stamped yet, age 0
    }
    out[0] = inFlight;
    out[1] = subscribers;
    out[2] = inFlight === 0 ? -1 : oldest === Infinity ? 0 : native.now() - oldest;
    out[3] = 0;
  }

  countCloneFailure(): number {
    return 0; // nothing crosses threads
  }

  tableId(): number {
    return 0; // never addressed by the bridge
  }

  int32Page(cell: number): Int32Array {
    return this.int32Pages[Math.floor(cell / CELLS_PER_PAGE)];
  }

  int32Index(cell: number): number {
    return (cell % CELLS_PER_PAGE) * INT32_PER_CELL;
  }

  /** Not kept here: the ThreadGroup stamps local flights itself, lazily (stampLocal). */
  startedAt(): number {
    return NaN;
  }

  private take(): number {
    const recycled = this.free.pop();
    if (recycled !== undefined) return recycled;
    if (this.allocated % CELLS_PER_PAGE === 0) {
      this.int32Pages.push(new Int32Array(CELLS_PER_PAGE * INT32_PER_CELL));
    }
    return this.allocated++;
  }

  private markDetached(cell: number): void {
    this.int32Page(cell)[this.int32Index(cell) + native.FIELD_DETACHED] = 1;
  }
}
