// The contract between a Singleflight and a coordinator of flights across processes (the
// `distributed` option; threadflight/redis provides one). Threads of one process coalesce in
// the native table first: only the thread leading a key's flight in this process calls run(),
// so at most one thread per process per key talks to the coordinator.
import type { Work } from './flight';

/** One flight of one process, as handed to a coordinator. */
export interface DistributedFlight<T> {
  /** The Singleflight's name: flights are shared by instances of one name. */
  readonly name: string;
  readonly key: string;
  /** The instance's maxDuration, in ms (Infinity for none). */
  readonly maxDuration: number;
  /** The caller's work; the coordinator runs it at most once here, or not at all. */
  readonly work: Work<T>;
  /** Aborted when no caller in this process waits for the flight any more. */
  readonly signal: AbortSignal;
}

export interface Coordinator {
  /** Settles with the outcome of the one execution of the flight across processes. */
  run<T>(flight: DistributedFlight<T>): Promise<T>;
  /** Lets go of this process's flights of `name` (of `key` only, if given), so that the next
   * caller starts a new flight: called by forget() and clear(). */
  forget?(name: string, key?: string): void;
  /** A second tier for a named FlightCache's entries, shared by every process; a FlightCache
   * with this coordinator uses it when offered. */
  cacheTier?(options: CacheTierOptions): CacheTier;
}

export interface CacheTierOptions {
  /** The FlightCache's name. */
  readonly name: string;
  /** The cache's maxDuration: a fill older than this stores nothing. */
  readonly maxFillMs: number;
  /** Another process deleted `key` (or cleared the cache: `key` undefined). */
  readonly onInvalidate: (key: string | undefined) => void;
}

/** What a fill learns from the tier before it runs the factory. */
export interface TierRead {
  /** When the fill started, on the tier's clock: hand it to write(). */
  readonly since: number;
  /** The key's entry, if the tier has one: its value, and ms left fresh and stale after that. */
  readonly entry?: { readonly value: unknown; readonly freshMs: number; readonly graceMs: number };
}

/** A FlightCache's second tier. Never rejects, never throws: a tier that cannot be used is
 * one that has nothing (reads resolve to undefined) and keeps nothing. */
export interface CacheTier {
  read(key: string): Promise<TierRead | undefined>;
  /** Stores a fill's value unless the key was deleted, the cache cleared, or a later fill
   * stored one since `since`; `elapsedMs`: how long the fill has run. Resolves once stored (or
   * refused, or failed): the fill's callers are answered after it, so any process reading
   * then finds the value. */
  write(key: string, value: unknown, freshMs: number, graceMs: number, since: number, elapsedMs: number): Promise<void>;
  /** Replaces the key's value in every process (set()). */
  replace(key: string, value: unknown, freshMs: number, graceMs: number): void;
  /** Deletes the key in every process. */
  delete(key: string): void;
  /** Clears the cache in every process. */
  clear(): void;
  /** Stops hearing of other processes' deletions. */
  close(): void;
}

export function isCoordinator(value: unknown): value is Coordinator {
  return typeof value === 'object' && value !== null && typeof (value as Coordinator).run === 'function';
}
