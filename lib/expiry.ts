// maxDuration, without a timer per flight and without a clock reading per flight.
//
// Flights wait in slots: a slot holds flights whose deadlines fall within one `period` (a
// tenth of maxDuration, at most 100 ms), and expires them together once the last of those
// deadlines has passed, so a flight expires never early and at most one period late. Flights
// whose start is known (named tables stamp it when the flight joins the table, and a thread
// that joins a flight started elsewhere learns it) go to the slot of their start's window. A
// flight of an unnamed table goes to its table's open slot, which reads the clock once when it
// opens and closes one period later: every flight in it started between those two moments.
//
// A slot links its flights into a list, except the flights of an open slot, which it only
// counts: linking a young flight into a long-lived slot costs a write barrier, a large part of
// a flight that lasts a moment. Those flights are found in their table when the slot expires
// them (`survey`); one that leaves its table before it settles (forgotten, cleared) is linked
// then (keep()).
//
// One scheduler per thread holds the slots of every table, in a heap by due time, behind a
// single timer; the timer keeps the event loop alive while any flight with a finite
// maxDuration is in the air (like one timer per flight would) and never otherwise. Flights
// leave their slot the moment they settle, so the cost of expiry follows the flights that
// expire, and nothing keeps a settled flight or an idle table reachable for longer than a
// period.
import { binding } from './binding';
import { MAX_DURATION_LIMIT as MAX_TIMER_DELAY } from './options';

/** What the slots keep: a flight (lib/flight.ts), with the links its slot threads through it. */
export interface Tracked<F extends Tracked<F>> {
  startedMs: number;
  slot: Slot<F> | undefined;
  prevInSlot: F | undefined;
  nextInSlot: F | undefined;
}

/** What the scheduler orders: something due at a time, which it then tells. */
interface Scheduled {
  due: number;
  /** Position in the scheduler's heap; -1 when not in it. */
  heapIndex: number;
  fire(now: number): void;
}

/** Flights whose deadlines fall in one window of one Deadlines. */
export class Slot<F extends Tracked<F>> implements Scheduled {
  /** When every flight in it is past its deadline, on the core clock (ms). */
  due = Infinity;
  /** Position in the scheduler's heap; -1 when not in it. */
  heapIndex = -1;
  /** The newest flight; the others hang from it by prevInSlot. Only the newest is stored here:
   * a long-lived slot pointing at a young flight costs V8 a write barrier per store. */
  last: F | undefined;
  size = 0;
  /** Held weakly for firing: a slot left empty must not keep an instance nobody uses
   * reachable until it is due. */
  readonly owner: WeakRef<Deadlines<F>>;
  /** Held strongly while the slot has flights: a flight in the air expires even when nobody
   * holds its instance any more. */
  holder: Deadlines<F> | undefined; // read by nobody: a reference is all it is for

  constructor(
    owner: Deadlines<F>,
    /** The window of starts it covers (start / period, rounded down), and where that window
     * starts (ms); NaN for an open slot. */
    readonly window: number,
    readonly windowStartMs: number,
    /** For an open slot: when it opened, no later than any of its flights started. */
    readonly openedMs: number,
  ) {
    this.owner = new WeakRef(owner);
  }

  /** Counts the flight in, without linking it (see the top of this file). */
  count(flight: F, owner: Deadlines<F>): void {
    if (this.size === 0) this.holder = owner;
    flight.slot = this;
    this.size++;
  }

  add(flight: F, owner: Deadlines<F>): void {
    this.count(flight, owner);
    this.link(flight);
  }

  /** Links a flight already counted in. */
  link(flight: F): void {
    const last = this.last;
    flight.prevInSlot = last;
    if (last !== undefined) last.nextInSlot = flight;
    this.last = flight;
  }

  linked(flight: F): boolean {
    return flight.prevInSlot !== undefined || flight.nextInSlot !== undefined || this.last === flight;
  }

  remove(flight: F): void {
    if (this.linked(flight)) {
      const { prevInSlot: prev, nextInSlot: next } = flight;
      if (prev !== undefined) prev.nextInSlot = next;
      if (next === undefined) this.last = prev;
      else next.prevInSlot = prev;
      flight.prevInSlot = flight.nextInSlot = undefined;
    }
    flight.slot = undefined;
    if (--this.size === 0) this.holder = undefined;
  }

  fire(now: number): void {
    this.owner.deref()?.fire(this, now);
  }

  /** Takes every flight out: the linked ones, and those only counted, found in their table. */
  drain(survey: () => Iterable<F>): F[] {
    const flights: F[] = [];
    for (let flight = this.last; flight !== undefined;) {
      const prev: F | undefined = flight.prevInSlot;
      flight.slot = flight.prevInSlot = flight.nextInSlot = undefined;
      flights.push(flight);
      flight = prev;
    }
    flights.reverse();
    if (flights.length < this.size) {
      for (const flight of survey()) {
        if (flight.slot !== this) continue;
        flight.slot = undefined;
        flights.push(flight);
      }
    }
    this.last = undefined;
    this.size = 0;
    this.holder = undefined;
    return flights;
  }
}

/** The deadlines of one table's flights in this thread. */
export class Deadlines<F extends Tracked<F>> {
  /** Within this much of its deadline a flight expires (never before it). */
  readonly period: number;
  /** The slot taking flights of unknown start; closes one period after it opened. */
  private open: Slot<F> | undefined;
  /** The slot of the window last used, which the next flight most likely shares: kept when it
   * empties (flights one at a time would otherwise make and drop a slot each). Other slots
   * are dropped as soon as they are empty. */
  private recent: Slot<F> | undefined;
  private readonly windows = new Map<number, Slot<F>>();

  constructor(
    readonly maxDuration: number,
    /** Rejects the callers of flights past their deadline. Called from the timer. */
    private readonly expire: (flights: F[]) => void,
    /** The flights still in their table here: where an open slot finds the flights it counted. */
    private readonly survey: () => Iterable<F>,
  ) {
    this.period = Math.min(100, Math.max(1, Math.floor(maxDuration / 10)));
  }

  /** Tracks a flight starting now, without reading the clock when a slot is open. */
  addStarting(flight: F): void {
    const slot = this.open ?? this.openSlot();
    flight.startedMs = slot.openedMs;
    slot.count(flight, this);
  }

  /** Opens a slot for the flights starting from now (kept apart: most flights find one open). */
  private openSlot(): Slot<F> {
    const now = binding.now();
    const slot = (this.open = new Slot(this, NaN, NaN, now));
    scheduler.schedule(slot, now + this.period);
    return slot;
  }

  /** The flight leaves its table before it settles (forgotten, cleared): its slot, if it only
   * counted it, links it, since the table can no longer show it. */
  keep(flight: F): void {
    const slot = flight.slot;
    if (slot !== undefined && !slot.linked(flight)) slot.link(flight);
  }

  /** Tracks a flight whose start (on the core clock) it already has. */
  addStarted(flight: F): void {
    if (this.maxDuration === Infinity) return; // nothing to expire, and the start is known
    const startedMs = flight.startedMs;
    let slot = this.recent;
    // Most flights start in the window of the one before them.
    if (slot !== undefined && startedMs >= slot.windowStartMs && startedMs < slot.windowStartMs + this.period) {
      this.admit(slot, flight);
      return;
    }
    const window = Math.floor(startedMs / this.period);
    slot = this.windows.get(window);
    if (slot === undefined) {
      slot = new Slot(this, window, window * this.period, NaN);
      this.windows.set(window, slot);
      scheduler.schedule(slot, (window + 1) * this.period + this.maxDuration);
    }
    const previous = this.recent;
    this.recent = slot;
    if (previous !== undefined && previous.size === 0) this.drop(previous);
    this.admit(slot, flight);
  }

  /** The flight settled: it no longer expires. */
  remove(flight: F): void {
    const slot = flight.slot;
    if (slot === undefined) return;
    slot.remove(flight);
    if (slot.size === 0 && slot !== this.open && slot !== this.recent) this.drop(slot);
  }

  /** Called by the scheduler when `slot` is due. */
  fire(slot: Slot<F>, now: number): void {
    if (slot === this.open) {
      // Every flight in it started by now: they expire maxDuration from now, or later.
      this.open = undefined;
      if (slot.size !== 0 && this.maxDuration !== Infinity) scheduler.schedule(slot, now + this.maxDuration);
      return;
    }
    this.drop(slot);
    const flights = slot.drain(this.survey);
    this.expire(flights);
  }

  /** A flight this thread runs is in the air: the event loop stays alive until releaseLoop().
   * (A thread waiting for another thread's flight is kept alive by the bridge.) */
  holdLoop(): void {
    if (this.maxDuration !== Infinity) scheduler.flightAdded();
  }

  releaseLoop(): void {
    if (this.maxDuration !== Infinity) scheduler.flightGone();
  }

  private admit(slot: Slot<F>, flight: F): void {
    slot.add(flight, this);
  }

  private drop(slot: Slot<F>): void {
    scheduler.cancel(slot);
    if (this.windows.get(slot.window) === slot) this.windows.delete(slot.window);
    if (this.recent === slot) this.recent = undefined;
  }
}

/** This thread's slots, by due time, behind one timer. */
class Scheduler {
  private readonly heap: Scheduled[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  /** Flights with a finite maxDuration this thread runs: while there are any, the timer is ref'd. */
  private live = 0;
  /** Whether the timer is ref'd (or will be, once armed). */
  private holding = false;
  private idleCheckQueued = false;
  private firing = false;

  schedule(slot: Scheduled, due: number): void {
    slot.due = due;
    this.push(slot);
    if (!this.firing && due < this.timerDue) this.arm(due);
  }

  cancel(slot: Scheduled): void {
    if (slot.heapIndex >= 0) this.removeAt(slot.heapIndex);
  }

  flightAdded(): void {
    this.live++;
    if (!this.holding) this.hold();
  }

  /** Letting go of the event loop is deferred until the code running now and its promise
   * callbacks are done (process.nextTick, which needs no native call): a flight ending and the
   * next one starting meanwhile (a loop of awaited calls, say) cost a count each. */
  flightGone(): void {
    if (--this.live === 0 && !this.idleCheckQueued) {
      this.idleCheckQueued = true;
      process.nextTick(this.checkIdle);
    }
  }

  private hold(): void {
    this.holding = true;
    this.timer?.ref();
  }

  private readonly checkIdle = (): void => {
    this.idleCheckQueued = false;
    if (this.live !== 0) return;
    this.holding = false;
    this.timer?.unref();
  };

  private arm(due: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    const delay = Math.min(MAX_TIMER_DELAY, Math.max(1, Math.ceil(due - binding.now())));
    this.timer = setTimeout(this.fire, delay);
    if (!this.holding) this.timer.unref();
    this.timerDue = due;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.timerDue = Infinity;
    this.firing = true;
    try {
      // The clock is read again for each slot: expiring one runs abort listeners, which take
      // their time and may start flights in a slot due next.
      for (let now = binding.now(); this.heap.length !== 0 && this.heap[0].due <= now; now = binding.now()) {
        const slot = this.heap[0];
        this.removeAt(0);
        slot.fire(now);
      }
    } finally {
      this.firing = false;
      if (this.heap.length !== 0) this.arm(this.heap[0].due);
    }
  };

  // A binary min-heap by `due`; each slot knows its index, so it can leave from anywhere.

  private push(slot: Scheduled): void {
    slot.heapIndex = this.heap.length;
    this.heap.push(slot);
    this.up(slot.heapIndex);
  }

  private removeAt(index: number): void {
    const heap = this.heap;
    const gone = heap[index];
    const last = heap.pop() as Scheduled;
    gone.heapIndex = -1;
    if (index === heap.length) return;
    heap[index] = last;
    last.heapIndex = index;
    this.down(index);
    this.up(last.heapIndex);
  }

  private up(index: number): void {
    const heap = this.heap;
    const slot = heap[index];
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (heap[parent].due <= slot.due) break;
      heap[index] = heap[parent];
      heap[index].heapIndex = index;
      index = parent;
    }
    heap[index] = slot;
    slot.heapIndex = index;
  }

  private down(index: number): void {
    const heap = this.heap;
    const slot = heap[index];
    for (;;) {
      let child = 2 * index + 1;
      if (child >= heap.length) break;
      if (child + 1 < heap.length && heap[child + 1].due < heap[child].due) child++;
      if (heap[child].due >= slot.due) break;
      heap[index] = heap[child];
      heap[index].heapIndex = index;
      index = child;
    }
    heap[index] = slot;
    slot.heapIndex = index;
  }
}

const scheduler = new Scheduler();
