// This thread's end of the bridge between threads. A message from another thread names its
// flight by table, key and flight id; the bridge hands it to that table's side in this thread
// (NativeTable.receive), which finds the flight. It also keeps the event loop alive exactly
// while this thread waits for a message.
//
// One bridge per thread, kept on the binding object: a second copy of this JavaScript loaded
// over the same binding (a test runner's module registry) registers its tables with the first
// copy's bridge, so messages for either copy's flights reach them.
import { binding, type MessageHandler } from './binding';
import { protocol } from './protocol';

/** A table's side in this thread, as the bridge sees it. */
export interface Receiver {
  /** Handles a message if the flight is this side's; returns undefined if it is not. */
  receive(key: string, flightId: number, kind: number, payload: Buffer | undefined): boolean | undefined;
}

class Bridge {
  /** Each table's sides in this thread (one per copy of this JavaScript), held weakly: a side
   * goes away with its instances... */
  private readonly sides = new Map<number, Array<WeakRef<Receiver>>>();
  private readonly forgetSide = new FinalizationRegistry<number>((tableId) => this.prune(tableId));
  /** ...but not while it waits for a message: then it is held here, with how many it awaits. */
  private readonly waiting = new Map<Receiver, number>();

  readonly onMessage: MessageHandler = (kind, tableId, key, flightId, payload) => {
    for (const side of this.sides.get(tableId) ?? []) {
      try {
        const taken = side.deref()?.receive(key, flightId, kind, payload);
        if (taken !== undefined) return taken;
      } catch (error) {
        reportBug(error);
        return false;
      }
    }
    return false; // the flight is no longer known here (it expired, or its callers left)
  };

  register(tableId: number, side: Receiver): void {
    const sides = this.sides.get(tableId);
    if (sides === undefined) this.sides.set(tableId, [new WeakRef(side)]);
    else sides.push(new WeakRef(side));
    this.forgetSide.register(side, tableId);
  }

  startWaiting(side: Receiver): void {
    if (this.waiting.size === 0) binding.refBridge(true);
    this.waiting.set(side, (this.waiting.get(side) ?? 0) + 1);
  }

  stopWaiting(side: Receiver): void {
    const left = (this.waiting.get(side) ?? 1) - 1;
    if (left > 0) {
      this.waiting.set(side, left);
      return;
    }
    this.waiting.delete(side);
    if (this.waiting.size === 0) binding.refBridge(false);
  }

  private prune(tableId: number): void {
    const live = this.sides.get(tableId)?.filter((side) => side.deref() !== undefined) ?? [];
    if (live.length === 0) this.sides.delete(tableId);
    else this.sides.set(tableId, live);
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

/** Messages about table `tableId` may come for `side`'s flights. */
export function register(tableId: number, side: Receiver): void {
  bridge.register(tableId, side);
}

/** `side` waits for a message (about a flight led elsewhere) until stopWaiting(side): the
 * thread's event loop stays alive, and the side reachable, meanwhile. */
export function startWaiting(side: Receiver): void {
  bridge.startWaiting(side);
}

export function stopWaiting(side: Receiver): void {
  bridge.stopWaiting(side);
}
