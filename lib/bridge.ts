// This thread's end of the bridge between threads: a message from another thread names the
// receiving flight by this thread's lane cell and the flight's id, and is handed to the flight's
// table (Table.receive). It also keeps the event loop alive exactly while this thread waits for a message.
//
// One bridge per thread, kept on the binding object: a second copy of this JavaScript loaded
// over the same binding (a test runner's module registry, a purged require.cache) uses the
// first copy's, so messages for either copy's flights reach them.
import { binding, type MessageHandler } from './binding';
import type { AnyFlight } from './flight';
import { protocol } from './protocol';

const PAGE = 4096;

class Bridge {
  /** Flights that may get messages, by lane cell: pages of PAGE slots, made on first use. */
  private readonly pages: Array<Array<AnyFlight | undefined>> = [];
  private waiting = 0;

  readonly onMessage: MessageHandler = (kind, lane, flightId, payload) => {
    const flight = this.pages[Math.floor(lane / PAGE)]?.[lane % PAGE];
    if (flight === undefined || flight.id !== flightId) return false; // it stopped listening meanwhile
    try {
      return flight.table.receive(flight, kind, payload);
    } catch (error) {
      reportBug(error);
      return false;
    }
  };

  route(flight: AnyFlight, waiting: boolean): void {
    const index = Math.floor(flight.lane / PAGE);
    const page = (this.pages[index] ??= new Array<AnyFlight | undefined>(PAGE).fill(undefined));
    page[flight.lane % PAGE] = flight;
    if (waiting) this.startWaiting();
  }

  /** Identity-checked: a newer flight routed through the same lane keeps its route. */
  unroute(flight: AnyFlight, waiting: boolean): void {
    const page = this.pages[Math.floor(flight.lane / PAGE)];
    if (page?.[flight.lane % PAGE] === flight) page[flight.lane % PAGE] = undefined;
    if (waiting) this.stopWaiting();
  }

  private startWaiting(): void {
    if (this.waiting++ === 0) binding.refBridge(true);
  }

  stopWaiting(): void {
    if (--this.waiting === 0) binding.refBridge(false);
  }
}

function reportBug(error: unknown): void {
  // A bug here must not be swallowed, nor break the native caller: report it as Node would.
  process.nextTick(() => {
    throw error;
  });
}

const SHARED = Symbol.for(`threadflight.bridge.v${protocol.version}`);
const holder = binding as unknown as { [SHARED]?: Bridge };
const bridge: Bridge = holder[SHARED] ?? attach();

function attach(): Bridge {
  const fresh = new Bridge();
  binding.attachBridge(fresh.onMessage);
  Object.defineProperty(binding, SHARED, { value: fresh });
  return fresh;
}

/** The flight may get messages from now on; `waiting`: this thread waits for one. */
export function route(flight: AnyFlight, waiting: boolean): void {
  bridge.route(flight, waiting);
}

/** No more messages for the flight; `waiting`: it was waiting for one. */
export function unroute(flight: AnyFlight, waiting: boolean): void {
  bridge.unroute(flight, waiting);
}

/** A flight this thread waited for is now led here (it stays routed). */
export function stopWaiting(): void {
  bridge.stopWaiting();
}
