// The cell layout, in one place. A cell holds the counters of one flight (or of one thread's
// part in a flight): callers in all threads, callers in one thread (its lane), the unjoinable
// flag, threads waiting elsewhere, and the start time. Named tables keep cells in the native
// arena, whose pages every thread maps; an unnamed table keeps them in pages of its own. The
// offsets come from the binding (protocol.cell).
import { binding } from './binding';
import { protocol } from './protocol';

const INT32_PER_CELL = protocol.cell.bytes / Int32Array.BYTES_PER_ELEMENT;
const FLOAT64_PER_CELL = protocol.cell.bytes / Float64Array.BYTES_PER_ELEMENT;
const { subscribers: SUBSCRIBERS, lane: LANE, unjoinable: UNJOINABLE, waitingThreads: WAITING_THREADS } = protocol.cell;
const STARTED_MS = protocol.cell.startedMs;

/** Pages of cells: the native arena's, or an unnamed table's own. Cells are small integers
 * (below 2^31) and pages a power of two of them, so the arithmetic stays in integers. */
export class CellPages {
  private readonly int32: Int32Array[] = [];
  private readonly float64: Float64Array[] = [];
  private readonly shift: number;
  private readonly mask: number;

  constructor(
    perPage: number,
    private readonly newPage: (index: number) => ArrayBuffer,
  ) {
    this.shift = Math.log2(perPage);
    if (!Number.isInteger(this.shift)) throw new RangeError(`cells per page must be a power of two, not ${perPage}`);
    this.mask = perPage - 1;
  }

  /** The array holding `cell`'s int32 fields (see the accessors below). */
  int32Page(cell: number): Int32Array {
    const page = cell >>> this.shift;
    return this.int32[page] ?? this.map(page);
  }

  /** Where `cell`'s int32 fields start in its page. */
  base(cell: number): number {
    return (cell & this.mask) * INT32_PER_CELL;
  }

  startedMs(cell: number): number {
    const page = cell >>> this.shift;
    if (this.float64[page] === undefined) this.map(page);
    return this.float64[page][(cell & this.mask) * FLOAT64_PER_CELL + STARTED_MS];
  }

  private map(page: number): Int32Array {
    const buffer = this.newPage(page);
    this.float64[page] = new Float64Array(buffer);
    return (this.int32[page] = new Int32Array(buffer));
  }
}

/** The native arena, as this thread sees it. */
export const nativeCells = new CellPages(protocol.cell.perPage, (index) => binding.cellPage(index));

/** A new cell's fields in a page of one's own: one caller, in this thread, joinable. */
export function initLocalCell(page: Int32Array, base: number): void {
  page[base + SUBSCRIBERS] = 1;
  page[base + LANE] = 1;
  page[base + UNJOINABLE] = 0;
  page[base + WAITING_THREADS] = 0;
}

/** Plain store: only a native table's cells are read by other threads, and those only mark
 * it through markSharedUnjoinable. */
export function markUnjoinable(page: Int32Array, base: number): void {
  page[base + UNJOINABLE] = 1;
}

export function markSharedUnjoinable(page: Int32Array, base: number): void {
  Atomics.store(page, base + UNJOINABLE, 1);
}

/** Threads other than the leader's waiting for the flight (published by the native table). A
 * hint, read with a plain load (Atomics.load is a builtin call): the table decides under its
 * lock when the flight settles. */
export function waitingThreads(page: Int32Array, base: number): number {
  return page[base + WAITING_THREADS];
}

export function isUnjoinable(page: Int32Array, base: number): boolean {
  return page[base + UNJOINABLE] !== 0;
}

export { INT32_PER_CELL, SUBSCRIBERS, LANE };
