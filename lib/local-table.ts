// The table of an unnamed instance. It shares nothing with any other instance or thread, so a
// process-wide native table would only add two Node-API calls per flight: this one lives in
// JavaScript. Its entries are the base class's map of flights; its cells are in pages of its
// own, laid out like the native ones, so the Coalescer treats both tables alike.
import { CellPages, initLocalCell, markUnjoinable } from './cells';
import { Flight, FlightState, type AnyFlight } from './flight';
import { protocol } from './protocol';
import { binding } from './binding';
import { countersOf, Table, type Ending, type FlightReport, type TableStats } from './table';
import { createHash } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { enableLocalTimings, timingsOf } from './timings';

// Small pages: instances may be short-lived (one per request, say), so the first page is cheap.
const CELLS_PER_PAGE = 64;

export class LocalTable extends Table {
  readonly counters = new Float64Array(protocol.flightCounter.laneLength);
  private readonly cells = new CellPages(CELLS_PER_PAGE, () => new ArrayBuffer(CELLS_PER_PAGE * protocol.cell.bytes));
  private readonly free: number[] = [];
  private allocated = 0;

  /** Nothing else counts this flight's callers: a plain increment. */
  addCallers(flight: AnyFlight, delta: number): number {
    const before = flight.counters[flight.total];
    flight.counters[flight.total] = before + delta;
    return before;
  }

  countIn(flight: AnyFlight, limit: number): number {
    const before = flight.counters[flight.total];
    if (before > 0 && before < limit) flight.counters[flight.total] = before + 1;
    return before;
  }

  /** `previous`, if any, was forgotten or cleared, or is ending: it needs no bookkeeping here. */
  join(key: string, _previous: AnyFlight | undefined): AnyFlight | number {
    const cell = this.free.pop() ?? this.allocated++;
    const page = this.cells.int32Page(cell);
    const base = this.cells.base(cell);
    initLocalCell(page, base);
    const flight = new Flight(key, cell, cell, 0, FlightState.Leading, page, base, page, base);
    this.flights.set(key, flight);
    return flight;
  }

  /** Nobody else ever waits here: the flight just ends. */
  finish(flight: AnyFlight, _ending: Ending, _outcome: unknown): boolean {
    this.untrack(flight);
    markUnjoinable(flight.counters, flight.base);
    this.free.push(flight.cell);
    return false;
  }

  /** No thread ever follows a flight of this table. */
  leave(_flight: AnyFlight): void {}

  forget(key: string): boolean {
    const flight = this.flights.get(key);
    if (flight === undefined || !flight.joinable()) return false;
    markUnjoinable(flight.counters, flight.base);
    this.flights.delete(key);
    return true;
  }

  clear(): void {
    for (const flight of this.flights.values()) markUnjoinable(flight.counters, flight.base);
    this.flights.clear();
  }

  has(key: string): boolean {
    return this.flights.get(key)?.joinable() === true;
  }

  size(): number {
    let joinable = 0;
    for (const flight of this.flights.values()) if (flight.joinable()) joinable++;
    return joinable;
  }

  flightsOlderThan(olderThan: number, limit: number): FlightReport[] {
    const now = binding.now();
    const reports: FlightReport[] = [];
    for (const flight of this.flights.values()) {
      const age = Math.max(0, now - flight.startedMs);
      if (!(age >= olderThan)) continue;
      reports.push({
        keyHash: createHash('sha256').update(flight.key, 'utf16le').digest('hex').slice(0, 16),
        age: Math.round(age),
        thread: threadId,
        callers: flight.callersHere(),
        joinable: flight.joinable(),
      });
    }
    return reports.sort((a, b) => b.age - a.age).slice(0, limit);
  }

  stats(): TableStats {
    let inFlightCount = 0;
    let totalSubscribers = 0;
    let oldest = Infinity;
    for (const flight of this.flights.values()) {
      if (!flight.joinable()) continue;
      inFlightCount++;
      totalSubscribers += flight.callersHere();
      oldest = Math.min(oldest, flight.startedMs);
    }
    const oldestCallAge = inFlightCount === 0 ? null : Math.max(0, Math.round(binding.now() - oldest));
    return {
      inFlightCount,
      totalSubscribers,
      oldestCallAge,
      cloneFailures: 0,
      ...countersOf(this.counters),
      ...timingsOf(this.counters),
    };
  }

  enableTimings(): void {
    enableLocalTimings(this.counters);
  }
}
