// The compiled addon and the per-thread views of its shared subscriber cells.
import * as path from 'node:path';

export interface NativeGroup {
  /** Returns cell * 4 + role; see ROLE_*. */
  join(key: string): number;
  settle(key: string, cell: number): number;
  detach(key: string, cell: number): boolean;
  has(key: string): boolean;
  size(): number;
  clear(): number;
  stats(out: Float64Array): void;
}

interface Binding {
  Group: new (maxSubscribers: number, maxDurationMs: number) => NativeGroup;
  now(): number;
  cellPage(index: number): ArrayBuffer;
  cellsPerPage: number;
}

export const ROLE_LEADER = 0;
export const ROLE_FOLLOWER = 1;
export const ROLE_REJECTED = 2;
export const ROLE_EXHAUSTED = 3;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const binding: Binding = require(path.join(__dirname, '..', 'build', 'Release', 'threadflight.node'));

export const Group = binding.Group;
/** Milliseconds on the core's monotonic clock, the one flight start times use. */
export const now: () => number = binding.now;

const CELLS_PER_PAGE = binding.cellsPerPage;
const counterPages: Int32Array[] = [];
const startPages: Float64Array[] = [];

function mapPage(page: number): void {
  const buffer = binding.cellPage(page);
  counterPages[page] = new Int32Array(buffer);
  startPages[page] = new Float64Array(buffer);
}

/** The Int32Array holding `cell`'s subscriber counter; its index is counterIndex(cell). */
export function counterPage(cell: number): Int32Array {
  const page = Math.floor(cell / CELLS_PER_PAGE);
  if (counterPages[page] === undefined) mapPage(page);
  return counterPages[page];
}

export function counterIndex(cell: number): number {
  return (cell % CELLS_PER_PAGE) * 4;
}

/** Start of `cell`'s flight in now() milliseconds. */
export function startedAt(cell: number): number {
  const page = Math.floor(cell / CELLS_PER_PAGE);
  if (startPages[page] === undefined) mapPage(page);
  return startPages[page][(cell % CELLS_PER_PAGE) * 2 + 1];
}
