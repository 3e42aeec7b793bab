// Running a flight's work and adopting what it returns, as the Promise resolution procedure
// would, without ever throwing: the work may throw, return a value, a promise, or any thenable,
// and that thenable may fight back (a `then` getter that throws, a revoked Proxy, a `then`
// that calls back twice). Exactly one of onValue/onError is called, once.
import type { Work } from './flight';

/** Compared with a result's `then`, never called detached. */
const nativeThen: unknown = Reflect.get(Promise.prototype, 'then');

/** What startWork needs of the flight: the AbortSignal to hand over, made on demand. */
interface SignalSource {
  signal(): AbortSignal;
}

export function startWork<T>(
  work: Work<T>,
  flight: SignalSource,
  onValue: (value: T) => void,
  onError: (error: unknown) => void,
): void {
  let result: T | PromiseLike<T>;
  let then: unknown;
  try {
    // A zero-parameter function is called without a signal: creating one costs more than a flight.
    result = work.length === 0 ? (work as () => T | PromiseLike<T>)() : work(flight.signal());
    if (result !== null && (typeof result === 'object' || typeof result === 'function')) {
      then = (result as { then?: unknown }).then; // read once, as the resolution procedure does
      if (then === nativeThen) {
        // A native promise (or something borrowing its `then`: that call throws, and rejects).
        // Called as a method, which V8 inlines; only a `then` accessor would see a second read.
        (result as Promise<T>).then(onValue, onError);
        return;
      }
    }
  } catch (error) {
    onError(error);
    return;
  }
  adopt(result, then, onValue, onError);
}

/** Any other result: a plain value, or a thenable, whose `then` was read once already. Kept
 * apart so that the common case, a native promise, stays small enough for V8 to inline. */
function adopt<T>(
  result: T | PromiseLike<T>,
  then: unknown,
  onValue: (value: T) => void,
  onError: (error: unknown) => void,
): void {
  if (typeof then !== 'function') {
    onValue(result as T);
    return;
  }
  // The native resolving functions call back once and adopt nested thenables; a `then` that
  // throws after calling back is ignored, as it should be.
  new Promise<T>((resolve, reject) => {
    Reflect.apply(then as (...args: unknown[]) => unknown, result, [resolve, reject]);
  }).then(onValue, onError);
}
