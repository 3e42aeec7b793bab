// This thread's end of the bridge: routes messages from other threads to the flights that
// wait for them, and keeps the event loop alive exactly while something waits.
import * as native from './native';
import { SteadyMap } from './steady-map';

/** What a waiting flight's owner does with a message; returns whether it accepted a lead. */
export interface RemoteWaiter {
  receive(kind: number, payload: Buffer | undefined): boolean;
}

/** What leads flights of a table in this thread: told when nobody waits for one any more. */
export interface TableSide {
  abandoned(key: string, cell: number): void;
}

const waiting = new SteadyMap<number, RemoteWaiter>(); // entries come and go one flight at a time
// Weakly held: an unnamed instance's side goes away with the instance.
const sides = new Map<number, WeakRef<TableSide>>();
const forgetSide = new FinalizationRegistry<number>((tableId) => {
  if (sides.get(tableId)?.deref() === undefined) sides.delete(tableId);
});

export function registerTable(tableId: number, side: TableSide): void {
  sides.set(tableId, new WeakRef(side));
  forgetSide.register(side, tableId);
}

const onMessage: native.BridgeHandler = (kind, flightId, payload, tableId, key, cell) => {
  if (kind === native.MESSAGE_ABANDON) {
    try {
      sides.get(tableId as number)?.deref()?.abandoned(key as string, cell as number);
    } catch (error) {
      reportBug(error);
    }
    return false;
  }
  const waiter = waiting.get(flightId);
  if (waiter === undefined) return false;  // it stopped waiting meanwhile (expired locally)
  stopWaiting(flightId);
  try {
    return waiter.receive(kind, payload);
  } catch (error) {
    reportBug(error);
    return false;
  }
};

function reportBug(error: unknown): void {
  // A bug here must not be swallowed, nor break the native caller: report it like Node would.
  process.nextTick(() => {
    throw error;
  });
}

// This thread receives messages from other threads through onMessage from now on.
native.binding.attachBridge(onMessage);

export function startWaiting(flightId: number, waiter: RemoteWaiter): void {
  if (waiting.size === 0) native.binding.refBridge(true);
  waiting.set(flightId, waiter);
}

export function stopWaiting(flightId: number): void {
  if (waiting.delete(flightId) && waiting.size === 0) native.binding.refBridge(false);
}
