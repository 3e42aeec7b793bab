// The compiled addon, loaded once per thread, and what it offers JavaScript.
// From dist/ as from lib/: the locator is plain JavaScript, shipped in lib/ uncompiled.
import { threadId } from 'node:worker_threads';
import { loadAddon } from '../lib/locate-addon.cjs';

/** The numbers both sides agree on (src/binding/protocol.h); lib/protocol.ts checks them. */
export interface Protocol {
  version: number;
  role: { leader: number; follower: number; rejected: number; exhausted: number };
  settle: { done: number; notify: number; needsPayload: number; notLeader: number };
  leave: { notWaiting: number; left: number; abandoned: number };
  message: {
    value: number;
    error: number;
    expired: number;
    fallback: number;
    lead: number;
    abandon: number;
    sharedFlag: number;
  };
  /** maxSubscribers as stored for Infinity: a limit no count reaches. At it, a flight's
   * shared count (protocol.cell.subscribers) counts lanes with callers, not callers. */
  unlimitedSubscribers: number;
  flightSlots: { cell: number; lane: number; flightId: number; startedMs: number; result: number; length: number };
  cell: {
    bytes: number;
    perPage: number;
    subscribers: number;
    lane: number;
    unjoinable: number;
    waitingThreads: number;
    startedMs: number;
  };
  slot: {
    bytes: number;
    perPage: number;
    version: number;
    touched: number;
    flags: number;
    freshUntilMs: number;
    staleUntilMs: number;
    tickMs: number;
    backoff: number;
  };
  storeResult: { slot: number; version: number; length: number; missing: number };
  store: { stored: number; invalidated: number; tooLarge: number; full: number };
  flightCounter: {
    flightsStarted: number;
    joinedSameThread: number;
    joinedOtherThread: number;
    servedByOtherProcess: number;
    workErrors: number;
    timeouts: number;
    rejected: number;
    aborted: number;
    takeovers: number;
    executionBuckets: number;
    executionSum: number;
    waitBuckets: number;
    waitSum: number;
    /** Not a counter: 1 while the name's flights are timed (written by the core into every lane). */
    timingsOn: number;
    length: number;
    laneLength: number;
  };
  /** Upper bounds (seconds) of the histograms' buckets; one more bucket holds the rest. */
  histogramBounds: readonly number[];
  counter: {
    hits: number;
    staleHits: number;
    misses: number;
    factoryRuns: number;
    factoryErrors: number;
    tierHits: number;
    length: number;
  };
}

/** A named table's functions, bound to it in this thread (see src/binding/table_handle.h). */
export interface TableHandle {
  /** The table's process-wide id: messages name their table by it. */
  readonly id: number;
  /** Leaves the Role (result), the flight's cell, lane, id and start in the flight slots. */
  join(key: string): void;
  /** For the flight whose cell and id are in the flight slots; leaves a Settle in their result.
   * Without kind: settles if nobody else waits, else Settle.needsPayload. */
  settle(kind?: number, payload?: Buffer): void;
  /** This thread's participant (the lane in the flight slots) stops waiting for the flight in
   * the slots (its cell and id). */
  leave(): void;
  forget(key: string): boolean;
  has(key: string): boolean;
  size(): number;
  clear(): void;
  /** Fills [inFlight, subscribers, oldest age in ms or -1, clone failures, ...the lanes
   * (protocol.flightCounter; laneLength slots) summed over every thread]. */
  stats(out: Float64Array): void;
  /** This thread's counters (Float64, indexed by protocol.flightCounter). */
  lane: ArrayBuffer;
  /** Counts one more clone failure; returns the count before it. */
  countCloneFailure(): number;
  /** From now on, every thread's instances of the name record the histograms. */
  enableTimings(): void;
  /** Flights not over that started at least `olderThanMs` ago, oldest first: [key hash (hex),
   * age in ms, leader's threadId or -1, callers, joinable]. */
  flights(olderThanMs: number, limit: number): Array<[string, number, number, number, boolean]>;
}

/** A named cache's store, bound to it in this thread (see src/binding/store_handle.h). */
export interface StoreHandle {
  /** Copies the entry's bytes into `into` and returns their size (slot and version left in
   * `storeResult`); -size when `into` is too small; protocol.storeResult.missing if none. */
  get(key: string, into: Buffer): number;
  generation(): number;
  /** A protocol.store result; when stored, the slot and version are left in `storeResult`. */
  store(key: string, bytes: Buffer, freshMs: number, graceMs: number, sinceGeneration: number, sinceMs: number): number;
  erase(key: string): boolean;
  clear(): number;
  backOff(key: string, version: number, untilMs: number): boolean;
  /** Fills [entries, bytes, evictions, expirations, ...counters summed over all threads]. */
  stats(out: Float64Array): void;
  /** This thread's counters (Float64, indexed by protocol.counter). */
  lane: ArrayBuffer;
}

/** A message from another thread about flight `flightId` of `key` in table `tableId`; returns
 * whether a lead it hands over was taken. */
export type MessageHandler = (
  kind: number,
  tableId: number,
  key: string,
  flightId: number,
  payload: Buffer | undefined,
) => boolean;

export interface Binding {
  protocol: Protocol;
  /** Throws an Error with code ERR_OPTIONS_MISMATCH if the name is in use with other limits. */
  openTable(name: string, maxSubscribers: number, maxDurationMs: number): TableHandle;
  /** Throws an Error with code ERR_OPTIONS_MISMATCH if the name is in use with other limits. */
  openStore(name: string, maxEntries: number, maxBytes: number, maxFillMs: number): StoreHandle;
  slotPage(index: number): ArrayBuffer;
  /** This thread's store-result slots (see protocol.storeResult). */
  storeResult: ArrayBuffer;
  /** The core's monotonic clock, in ms: the clock flights are stamped with. */
  now(): number;
  cellPage(index: number): ArrayBuffer;
  /** This thread's flight slots (see protocol.flightSlots): join() writes them, settle() and
   * leave() read them. */
  flightSlots: ArrayBuffer;
  /** Once per thread: other threads' messages arrive through `handler`. */
  attachBridge(handler: MessageHandler): void;
  /** Whether this thread's event loop is kept alive for messages. */
  refBridge(on: boolean): void;
  /** Whether the shared object is pinned for the life of the process. */
  pinned: boolean;
  /** Random, the same in every thread of this process: names the process in messages. */
  processToken: string;
  /** Tells the binding this thread's worker_threads.threadId (for reports naming threads). */
  setThreadId(threadId: number): void;
}

/** Raised with kProtocolVersion in src/binding/protocol.h. */
const EXPECTED_PROTOCOL = 10;

/** Why an addon cannot serve this JavaScript, if it cannot. */
function refuseStale(addon: unknown): string | undefined {
  const version = (addon as Partial<Binding>).protocol?.version;
  if (version === EXPECTED_PROTOCOL) return undefined;
  return `speaks protocol ${String(version)}, this JavaScript expects ${EXPECTED_PROTOCOL} (a stale build)`;
}

const loaded = loadAddon(refuseStale);
const ADDON = loaded.file;
export const binding = loaded.addon as Binding;

/**
 * Two installed copies of threadflight (nested node_modules, a monorepo) each load their own
 * addon, with its own process-wide tables: a named instance of one never shares a flight with
 * the other's. That cannot be bridged safely (the copies may differ), so it is said, once per
 * thread, where it first shows.
 */
function warnOfOtherCopies(): void {
  const LOADED = Symbol.for('threadflight.loaded-addons');
  const registry = globalThis as typeof globalThis & { [LOADED]?: Set<string> };
  const loaded = (registry[LOADED] ??= new Set<string>());
  loaded.add(ADDON);
  if (loaded.size !== 2) return;
  process.emitWarning(
    `threadflight is loaded from two installed copies: ${[...loaded].join(' and ')}. ` +
      'Named instances share flights only with instances of the same copy. ' +
      'Install one copy (npm dedupe, or one version range across packages).',
    { code: 'THREADFLIGHT_DUPLICATE', type: 'ThreadflightWarning' },
  );
}
warnOfOtherCopies();
binding.setThreadId(threadId);
