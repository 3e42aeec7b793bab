// Timings: two histograms per table — how long each run of work took, how long each caller
// waited for its answer — kept in the lanes beside the counters (a count per bucket and a sum,
// in seconds), so that a named instance's histograms describe every thread of the process.
// They are recorded only while timings are on for the table (enableTimings(), which the core
// writes into every thread's lane), read once per flight as it arrives in a thread: off, a new
// flight pays one read of its lane and a duplicate caller nothing.
import { performance } from 'node:perf_hooks';
import { protocol } from './protocol';

const BOUNDS = protocol.histogramBounds;
const {
  executionBuckets: EXECUTION_BUCKETS,
  executionSum: EXECUTION_SUM,
  waitBuckets: WAIT_BUCKETS,
  waitSum: WAIT_SUM,
  timingsOn: TIMINGS_ON,
} = protocol.flightCounter;

/** Durations, as Prometheus keeps them. */
export interface TimeHistogram {
  /** Observations in all. */
  count: number;
  /** Their total, in seconds. */
  sum: number;
  /** Cumulative: `count` observations took at most `le` seconds. The last `le` is Infinity. */
  buckets: Array<{ le: number; count: number }>;
}

/** Not a time: "never timed", so no run or wait is observed. */
export const UNTIMED = -1;

/** Whether the lane's table times its flights now. */
export function timingsOn(lane: Float64Array): boolean {
  return lane[TIMINGS_ON] !== 0;
}

/** When an observation starting now begins, or UNTIMED if the lane's table is not timed. */
export function startTiming(lane: Float64Array): number {
  return timingsOn(lane) ? performance.now() : UNTIMED;
}

function observe(lane: Float64Array, bucketsAt: number, sumAt: number, startedAt: number): void {
  const seconds = (performance.now() - startedAt) / 1000;
  let bucket = 0;
  while (bucket < BOUNDS.length && seconds > BOUNDS[bucket]) bucket++;
  lane[bucketsAt + bucket]++;
  lane[sumAt] += seconds;
}

/** Works that time their own runs (a coordinator's wrapper, which may not run the work here):
 * the Coalescer does not time them. */
export const selfTimed = new WeakSet<object>();

/** A run of work that started at `startedAt` (performance.now()) has just settled. */
export function observeRun(lane: Float64Array, startedAt: number): void {
  observe(lane, EXECUTION_BUCKETS, EXECUTION_SUM, startedAt);
}

/** A caller that started waiting at `startedAt` (performance.now()) has just been answered. */
export function observeWait(lane: Float64Array, startedAt: number): void {
  observe(lane, WAIT_BUCKETS, WAIT_SUM, startedAt);
}

/**
 * One timed flight in one thread: when its run started here, and the callers waiting on its
 * promise itself (execute(), do() without a signal), observed when it settles — not through a
 * handler on the promise, which would change which rejections are unhandled and when callers
 * are answered.
 */
export class FlightTiming {
  /** When this thread started running the work (performance.now()), or UNTIMED. */
  runStartedAt = UNTIMED;
  private readonly waitStarts: number[] = [];
  /** The promise is settled (the work may answer before its first caller is given it). */
  private done = false;

  constructor(private readonly lane: Float64Array) {}

  startRun(): void {
    this.runStartedAt = performance.now();
  }

  /** The run started by startRun() has settled. */
  endRun(): void {
    if (this.runStartedAt !== UNTIMED) observeRun(this.lane, this.runStartedAt);
  }

  /** A caller waits on the flight's promise since `startedAt`: observed when it settles. */
  addWait(startedAt: number): void {
    if (this.done) observeWait(this.lane, startedAt);
    else this.waitStarts.push(startedAt);
  }

  /** The flight's promise settles now. */
  settled(): void {
    if (this.done) return;
    this.done = true;
    for (const startedAt of this.waitStarts) observeWait(this.lane, startedAt);
    this.waitStarts.length = 0;
  }
}

/** Turns timings on for a lane that only this table reads (an unnamed instance's). */
export function enableLocalTimings(lane: Float64Array): void {
  lane[TIMINGS_ON] = 1;
}

export interface Timings {
  /** Whether timings are on (see Singleflight.enableTimings). */
  timings: boolean;
  /** Seconds each run of work took, from its start to its value or error. */
  executionTime: TimeHistogram;
  /** Seconds each caller waited, from its admission (the caller that started the run: from
   * the run's start) to its answer, whatever the answer. */
  waitTime: TimeHistogram;
}

function histogram(values: Float64Array, bucketsAt: number, sumAt: number): TimeHistogram {
  const buckets: Array<{ le: number; count: number }> = [];
  let count = 0;
  for (let bucket = 0; bucket <= BOUNDS.length; bucket++) {
    count += values[bucketsAt + bucket];
    buckets.push({ le: bucket < BOUNDS.length ? BOUNDS[bucket] : Infinity, count });
  }
  return { count, sum: values[sumAt], buckets };
}

/** The timings in `values` (a lane, or lanes summed), whose index 0 is at `at`. */
export function timingsOf(values: Float64Array, at = 0): Timings {
  return {
    timings: values[at + TIMINGS_ON] !== 0,
    executionTime: histogram(values, at + EXECUTION_BUCKETS, at + EXECUTION_SUM),
    waitTime: histogram(values, at + WAIT_BUCKETS, at + WAIT_SUM),
  };
}
