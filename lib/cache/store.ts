// Where a FlightCache keeps its entries, as one thread sees them. Two kinds: the native store of
// a name, shared by every thread of the process (shared-store.ts), and the store of an unnamed
// cache, this thread's alone (local-store.ts). Both keep entries with the same lifecycle —
// fresh until the ttl, then stale until the grace period ends, then gone — and the same guard
// against a fill that raced a deletion.
import { protocol } from '../protocol';

/** How usable an entry is, as of the read that returned it. */
export const enum Freshness {
  Fresh,
  /** Past its ttl, within its grace period: served stale while a refresh runs. */
  Stale,
  /** Stale, and a refresh failed recently: served stale, not refreshed before the backoff ends. */
  BackedOff,
}

/** What write() did. The numbers are the native store's (protocol.store). */
export const WriteResult = protocol.store;

/** An entry as a reader holds it. */
export interface Entry {
  readonly value: unknown;
}

export interface StoreStats {
  entries: number;
  bytes: number;
  evictions: number;
  expirations: number;
}

export interface Store {
  /** This thread's counters (indexed by protocol.counter). */
  readonly counters: Float64Array;
  /** How usable the entry the last read() returned is. */
  freshness: Freshness;
  /** The key's entry unless it is past its grace period; counts as a use. */
  read(key: string, now: number): Entry | undefined;
  /** Where a fill starts: hand it to write(). */
  generation(): number;
  /**
   * Stores `value`, fresh for freshMs then stale for graceMs, unless the key was deleted (or the
   * store cleared) since `sinceGeneration`, or the fill started (sinceMs) longer than the
   * store's maxDuration ago. Throws CacheValueError if the value cannot be stored.
   */
  write(
    key: string,
    value: unknown,
    freshMs: number,
    graceMs: number,
    sinceGeneration: number,
    sinceMs: number,
  ): number;
  /** A refresh of `entry` failed: it is stale and not refreshed again before untilMs. */
  backOff(key: string, entry: Entry, untilMs: number): void;
  delete(key: string): boolean;
  clear(): void;
  stats(): StoreStats;
  /** The counters summed over every thread using the store. */
  totals(): Float64Array;
}

/** Ticks of the touched stamps (the native store's, protocol.slot.tickMs). */
export const TICK_MS = protocol.slot.tickMs;
