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
}

export function isCoordinator(value: unknown): value is Coordinator {
  return typeof value === 'object' && value !== null && typeof (value as Coordinator).run === 'function';
}
