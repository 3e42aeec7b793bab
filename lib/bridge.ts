// This thread's end of the bridge: routes messages from other threads to the flights that
// wait for them, and keeps the event loop alive exactly while something waits.
import * as native from './native';

/** What a waiting flight's owner does with a message; returns whether it accepted a lead. */
export interface RemoteWaiter {
  receive(kind: number, payload: Buffer | undefined): boolean;
}

const waiting = new Map<number, RemoteWaiter>();

function onMessage(kind: number, flightId: number, payload: Buffer | undefined): boolean {
  const waiter = waiting.get(flightId);
  if (waiter === undefined) return false;  // it stopped waiting meanwhile (expired locally)
  stopWaiting(flightId);
  try {
    return waiter.receive(kind, payload);
  } catch (error) {
    // A bug here must not be swallowed, nor break the native caller: report it like Node would.
    process.nextTick(() => {
      throw error;
    });
    return false;
  }
}

/** This thread's id among the participants of the process-wide tables. */
export const threadId = native.binding.attachBridge(onMessage);

export function startWaiting(flightId: number, waiter: RemoteWaiter): void {
  if (waiting.size === 0) native.binding.refBridge(true);
  waiting.set(flightId, waiter);
}

export function stopWaiting(flightId: number): void {
  if (waiting.delete(flightId) && waiting.size === 0) native.binding.refBridge(false);
}
