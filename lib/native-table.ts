// The table of a name: one process-wide native table (src/core/flight_table.h), shared by every
// thread, seen from this thread. A new flight, its end, and leaving a flight led elsewhere
// cross into C++; a duplicate caller in this thread does not (the base class's map and the
// shared counters serve it). Messages from other threads about this thread's flights arrive
// through the bridge, by key and flight id.
import * as bridge from './bridge';
import { binding, type TableHandle } from './binding';
import { nativeCells } from './cells';
import { OptionsMismatchError } from './errors';
import { Flight, FlightState, type AnyFlight } from './flight';
import { UNLIMITED_SUBSCRIBERS, type ResolvedOptions } from './options';
import { FlightSlot, Message, protocol, Role, Settle } from './protocol';
import { countersOf, Ending, Table, type FlightReport, type TableEvents, type TableStats } from './table';
import { timingsOf } from './timings';
import * as wire from './wire';

/** This thread's flight slots: where join() leaves the flight, and where settle() and leave()
 * find which flight they are about (written right before each call: no JavaScript runs
 * between the write and the call). */
const flightSlots = new Float64Array(binding.flightSlots);

/** Names `flight` (and this thread's lane in it) for the next settle() or leave(). */
function name(flight: AnyFlight): void {
  flightSlots[FlightSlot.cell] = flight.cell;
  flightSlots[FlightSlot.flightId] = flight.id;
  flightSlots[FlightSlot.lane] = flight.lane;
}

function openTable(name: string, maxSubscribers: number, maxDuration: number): TableHandle {
  try {
    return binding.openTable(name, maxSubscribers, maxDuration);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_OPTIONS_MISMATCH') {
      throw new OptionsMismatchError(name, (error as Error).message);
    }
    throw error;
  }
}

export class NativeTable extends Table implements bridge.Receiver {
  private readonly handle: TableHandle;
  /** Flights this thread still leads or follows that are no longer its flight for their key
   * (forgotten, cleared, or replaced by a newer flight), by id: messages may still come. */
  private readonly displaced = new Map<number, AnyFlight>();
  private readonly statsOut = new Float64Array(4 + protocol.flightCounter.laneLength);
  readonly counters: Float64Array;

  constructor(
    options: ResolvedOptions & { name: string },
    private readonly events: TableEvents,
  ) {
    super();
    this.handle = openTable(options.name, options.maxSubscribers, options.maxDuration);
    this.counters = new Float64Array(this.handle.lane);
    bridge.register(this.handle.id, this);
  }

  /** Other threads count the same callers: an atomic add. */
  addCallers(flight: AnyFlight, delta: number): number {
    return Atomics.add(flight.counters, flight.total, delta);
  }

  /** Other threads count in at the same time: with a limit, a compare-and-swap, so that no
   * caller is ever refused because of another that is being refused (a count over the limit
   * for a moment). Without one, only a lane's first caller gets here (see Coalescer.joinHere). */
  countIn(flight: AnyFlight, limit: number): number {
    const counters = flight.counters;
    const at = flight.total;
    if (limit === UNLIMITED_SUBSCRIBERS) {
      const before = Atomics.add(counters, at, 1);
      if (before === 0) Atomics.sub(counters, at, 1); // doomed: it never counts again
      return before;
    }
    for (;;) {
      const before = Atomics.load(counters, at);
      if (before <= 0 || before >= limit) return before;
      if (Atomics.compareExchange(counters, at, before, before + 1) === before) return before;
    }
  }

  join(key: string, previous: AnyFlight | undefined): AnyFlight | number {
    this.handle.join(key);
    const role = flightSlots[FlightSlot.result];
    if (role !== Role.leader && role !== Role.follower) return role;
    // Every slot is read before anything else: creating the flight's promise runs async_hooks
    // init hooks, whose code may join another flight (and so overwrite the slots).
    const cell = flightSlots[FlightSlot.cell] | 0; // small integers: keep them so
    const lane = flightSlots[FlightSlot.lane] | 0;
    const id = flightSlots[FlightSlot.flightId];
    const startedMs = flightSlots[FlightSlot.startedMs];
    const state = role === Role.leader ? FlightState.Leading : FlightState.Following;
    const flight = new Flight(
      key,
      cell,
      lane,
      id,
      state,
      nativeCells.int32Page(cell),
      nativeCells.base(cell),
      nativeCells.int32Page(lane),
      nativeCells.base(lane),
    );
    flight.startedMs = startedMs;
    if (previous !== undefined) this.displaced.set(previous.id, previous);
    this.flights.set(key, flight);
    if (state === FlightState.Following) bridge.startWaiting(this);
    return flight;
  }

  finish(flight: AnyFlight, ending: Ending, outcome: unknown): boolean {
    this.release(flight);
    if (flight.waitedForElsewhere()) {
      // Closed before packing: packing runs the outcome's own code (getters), which may call
      // back in here for the same key, and must then start a new flight.
      flight.close();
    } else {
      // The count is read without a lock; the table double-checks, and asks for the outcome
      // (and closes the flight) if someone joined meanwhile.
      name(flight);
      this.handle.settle();
      if (flightSlots[FlightSlot.result] !== Settle.needsPayload) return false;
    }
    return this.sendOutcome(flight, ending, outcome);
  }

  /** Settles a flight other threads wait for, with its outcome packed for them (kept out of
   * finish(), whose path without waiters stays small enough for V8 to inline). */
  private sendOutcome(flight: AnyFlight, ending: Ending, outcome: unknown): boolean {
    // Read before settling, which takes this thread's callers off the count. Without a limit
    // the count is of threads, so this thread's own callers are looked at too (and each
    // receiving thread adds its own: see receive()).
    const shared = Atomics.load(flight.counters, flight.total) > 1 || flight.callersHere() > 1;
    let kind = Message.fallback;
    let payload: Buffer | undefined;
    if (ending === Ending.Value || ending === Ending.Error) {
      payload = ending === Ending.Value ? wire.packValue(outcome) : wire.packError(outcome);
      if (payload === undefined) this.reportCloneFailure(flight.key, outcome);
      else kind = (ending === Ending.Value ? Message.value : Message.error) | (shared ? Message.sharedFlag : 0);
    } else if (ending === Ending.Expired) {
      kind = Message.expired;
    }
    name(flight); // after packing, which runs the outcome's own code (it may join flights)
    this.handle.settle(kind, payload);
    return flightSlots[FlightSlot.result] === Settle.notify && payload !== undefined;
  }

  leave(flight: AnyFlight): void {
    this.release(flight);
    name(flight);
    this.handle.leave();
  }

  /** A message from another thread; undefined if flight `flightId` is not one of this side's. */
  receive(key: string, flightId: number, kind: number, payload: Buffer | undefined): boolean | undefined {
    const entry = this.flights.get(key);
    const flight = entry !== undefined && entry.id === flightId ? entry : this.displaced.get(flightId);
    if (flight === undefined) return undefined;
    const base = kind & ~Message.sharedFlag;
    if (base === Message.lead) {
      if (flight.state !== FlightState.Following) return false;
      bridge.stopWaiting(this);
      return this.events.takeLead(flight);
    }
    if (base === Message.abandon) {
      if (flight.state === FlightState.Leading) this.events.abandoned(flight);
      return false;
    }
    if (flight.state !== FlightState.Following) return false;
    this.release(flight); // an outcome: this thread's part in the flight is over
    if (base === Message.expired) {
      this.events.settledElsewhere(flight, Ending.Expired, undefined, false);
      return false;
    }
    const outcome =
      payload === undefined || (base !== Message.value && base !== Message.error)
        ? wire.UNREADABLE
        : base === Message.value
          ? wire.unpackValue(payload)
          : wire.unpackError(payload);
    if (outcome === wire.UNREADABLE) {
      this.events.runHere(flight);
    } else {
      const ending = base === Message.value ? Ending.Value : Ending.Error;
      const shared = (kind & Message.sharedFlag) !== 0 || flight.callersHere() > 1;
      this.events.settledElsewhere(flight, ending, outcome, shared);
    }
    return false;
  }

  forget(key: string): boolean {
    const forgotten = this.handle.forget(key);
    this.displace(key);
    return forgotten;
  }

  clear(): void {
    this.handle.clear();
    for (const flight of this.flights.values()) this.displaced.set(flight.id, flight);
    this.flights.clear();
  }

  /** Asks the table, which also knows which flights are past maxDuration. */
  has(key: string): boolean {
    return this.handle.has(key);
  }

  size(): number {
    return this.handle.size();
  }

  stats(): TableStats {
    const out = this.statsOut;
    this.handle.stats(out);
    return {
      inFlightCount: out[0],
      totalSubscribers: out[1],
      oldestCallAge: out[2] < 0 ? null : Math.round(out[2]),
      cloneFailures: out[3],
      ...countersOf(out, 4),
      ...timingsOf(out, 4),
    };
  }

  enableTimings(): void {
    this.handle.enableTimings();
  }

  flightsOlderThan(olderThan: number, limit: number): FlightReport[] {
    return this.handle.flights(olderThan, limit).map(([keyHash, age, thread, callers, joinable]) => ({
      keyHash,
      age: Math.round(age),
      thread,
      callers,
      joinable,
    }));
  }

  /** This thread's part in the flight in the table is over: no more messages for it. */
  private release(flight: AnyFlight): void {
    if (!this.untrack(flight)) this.displaced.delete(flight.id);
    if (flight.state === FlightState.Following) bridge.stopWaiting(this);
  }

  private displace(key: string): void {
    const flight = this.flights.get(key);
    if (flight === undefined) return;
    this.flights.delete(key);
    this.displaced.set(flight.id, flight);
  }

  private reportCloneFailure(key: string, outcome: unknown): void {
    if (this.handle.countCloneFailure() !== 0) return; // said once per table, process-wide
    process.emitWarning(
      `threadflight: the outcome of key ${JSON.stringify(key.slice(0, 120))} (${wire.describe(outcome)}) ` +
        'cannot be cloned to other threads; callers waiting there run their own work instead. ' +
        'Return structured-cloneable values (no functions, symbols or class behaviour) to share them. ' +
        'getStats().cloneFailures counts these. This warning is shown once.',
      { code: 'THREADFLIGHT_UNCLONEABLE', type: 'ThreadflightWarning' },
    );
  }
}
