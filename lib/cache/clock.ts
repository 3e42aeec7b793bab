// The cache's clock: the core's monotonic clock in ms (the one entries are stamped with in
// every thread), read through performance.now() and kept for a millisecond, so that a hit
// reads a variable rather than a clock (a clock read costs several times a hit).
import { performance } from 'node:perf_hooks';
import { binding } from '../binding';

// Both are monotonic; the core's is coarse (a few ms), so this thread may judge an entry
// stale up to that much early.
const OFFSET = binding.now() - performance.now();

let cached = 0;

function forget(): void {
  cached = 0;
}

function read(): number {
  cached = performance.now() + OFFSET;
  // Unref'd: a cache never keeps a process alive. While the loop is blocked the time stands
  // still, by at most the length of the block.
  setTimeout(forget, 1).unref();
  return cached;
}

/** Now, on the core's clock, in ms (at most about 1 ms old). */
export function now(): number {
  return cached !== 0 ? cached : read();
}

/** Now, read afresh (for timing a fill, not for judging a hit). */
export function preciseNow(): number {
  return performance.now() + OFFSET;
}
