// The compiled addon, and this thread's views of the shared cells.
import * as path from 'node:path';

export interface NativeGroup {
  /** cell * 4 + role for a leader, a refusal or exhaustion; [cell, flightId, laneCell] for a follower. */
  join(key: string): number | [number, number, number];
  /** Without kind: settles if nobody else waits, else SETTLE_NEEDS_PAYLOAD. */
  settle(key: string, cell: number, kind?: number, payload?: Buffer): number;
  leave(key: string, cell: number, flightId: number): number;
  forget(key: string): boolean;
  tableId(): number;
  has(key: string): boolean;
  size(): number;
  clear(): number;
  stats(out: Float64Array): void;
  countCloneFailure(): number;
}

/** (kind, flightId, payload, tableId, key, cell); the last three only for MESSAGE_ABANDON. */
export type BridgeHandler = (
  kind: number,
  flightId: number,
  payload: Buffer | undefined,
  tableId: number | undefined,
  key: string | undefined,
  cell: number | undefined,
) => boolean;

interface Binding {
  /** A named table's handle: plain functions bound to it. Throws ERR_OPTIONS_MISMATCH. */
  openGroup(name: string, maxSubscribers: number, maxDurationMs: number): NativeGroup;
  now(): number;
  cellPage(index: number): ArrayBuffer;
  cellsPerPage: number;
  attachBridge(handler: BridgeHandler): number;
  refBridge(on: boolean): void;
}

// Roles returned by join().
export const ROLE_LEADER = 0;
export const ROLE_REJECTED = 2;
export const ROLE_EXHAUSTED = 3;

// Results of settle().
export const SETTLE_DONE = 0;
export const SETTLE_NOTIFIED = 1;
export const SETTLE_NEEDS_PAYLOAD = 2;

// Kinds of outcome sent to other threads (and MESSAGE_LEAD for a hand-over).
export const MESSAGE_VALUE = 0;
export const MESSAGE_ERROR = 1;
export const MESSAGE_EXPIRED = 2;
export const MESSAGE_FALLBACK = 3;
export const MESSAGE_LEAD = 4;
/** To a leader: every caller of its flight left. */
export const MESSAGE_ABANDON = 5;
/** Added to an outcome's kind when the value reached more than one caller. */
export const SHARED_FLAG = 8;

// Results of leave().
export const LEAVE_NOT_WAITING = 0;

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const binding: Binding = require(path.join(__dirname, '..', 'build', 'Release', 'threadflight.node'));

/** Milliseconds on the core's monotonic clock (the same in every thread). */
export const now: () => number = binding.now;

// A cell is 32 bytes: int32 [0] callers of the flight, [1] callers of one thread (lane),
// [2] threads waiting elsewhere, [3] 1 once not joinable; float64 [2] start time.
const CELLS_PER_PAGE = binding.cellsPerPage;
const int32Pages: Int32Array[] = [];
const float64Pages: Float64Array[] = [];

function mapPage(page: number): void {
  const buffer = binding.cellPage(page);
  int32Pages[page] = new Int32Array(buffer);
  float64Pages[page] = new Float64Array(buffer);
}

/** Where a table keeps its cells: the native arena, or a LocalTable's own pages. */
export interface CellMemory {
  /** The Int32Array holding `cell`; its fields start at int32Index(cell). */
  int32Page(cell: number): Int32Array;
  int32Index(cell: number): number;
  /** When flight `cell` started, in now() milliseconds. */
  startedAt(cell: number): number;
}

/** The Int32Array holding `cell`; its fields start at int32Index(cell). */
export function int32Page(cell: number): Int32Array {
  const page = Math.floor(cell / CELLS_PER_PAGE);
  if (int32Pages[page] === undefined) mapPage(page);
  return int32Pages[page];
}

export function int32Index(cell: number): number {
  return (cell % CELLS_PER_PAGE) * 8;
}

export const FIELD_TOTAL = 0;
export const FIELD_LANE = 1;
export const FIELD_WAITING_THREADS = 2;
export const FIELD_DETACHED = 3;

/** When flight `cell` started, in now() milliseconds. */
export function startedAt(cell: number): number {
  const page = Math.floor(cell / CELLS_PER_PAGE);
  if (float64Pages[page] === undefined) mapPage(page);
  return float64Pages[page][(cell % CELLS_PER_PAGE) * 4 + 2];
}

export const nativeCells: CellMemory = { int32Page, int32Index, startedAt };
