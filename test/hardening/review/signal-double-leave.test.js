// Coalescer.watch (lib/coalescer.ts:137-175, onAbort at 140-144): onAbort is not idempotent. When the caller's
// (real) AbortSignal aborts while watch() is registering its listener — here addEventListener is
// overridden to register and then abort, like the hostile signals of test/hardening/signals —
// the listener runs once from the abort event, and then `if (signal.aborted) onAbort()` runs it
// again: leaveCaller() twice for one caller. The second leave takes ANOTHER caller's place:
// the flight is abandoned (work aborted) while a caller without a signal still waits, and that
// caller's promise never settles. Same when addEventListener registers and then throws (the
// catch leaves once, the later abort leaves again).
const { Singleflight } = require('../../..');
const { settle } = require('./helpers');

/** A real AbortSignal whose addEventListener registers the listener, then aborts the signal. */
function signalAbortingOnRegistration() {
  const controller = new AbortController();
  const { signal } = controller;
  signal.addEventListener = function (...args) {
    EventTarget.prototype.addEventListener.apply(this, args);
    controller.abort();
  };
  return signal;
}

/** A real AbortSignal whose addEventListener registers the listener, then throws; aborted later. */
function signalThrowingAfterRegistration() {
  const controller = new AbortController();
  const { signal } = controller;
  signal.addEventListener = function (...args) {
    EventTarget.prototype.addEventListener.apply(this, args);
    throw new Error('addEventListener failed after registering');
  };
  return { signal, abort: () => controller.abort() };
}

/** Work that runs until finish(value), telling whether its signal was aborted. */
function gatedWork() {
  let aborted = false;
  let finish;
  const work = (signal) => {
    signal.addEventListener('abort', () => (aborted = true));
    return new Promise((resolve) => (finish = resolve));
  };
  return { work, workAborted: () => aborted, finish: (value) => finish(value) };
}

describe.each([
  ['unnamed', () => ({})],
  ['named', () => ({ name: `double-leave-${process.pid}-${Math.random()}` })],
])('%s instance', (_kind, options) => {
  test('a signal aborting while its listener is registered: the other caller still gets the value', async () => {
    const sf = new Singleflight({ maxDuration: 5000, ...options() });
    const { work, workAborted, finish } = gatedWork();
    const first = sf.execute('k', work); // no signal: it never leaves
    const second = sf.execute('k', work, { signal: signalAbortingOnRegistration() });
    const left = await settle(second, 1000);
    expect(left.status).toBe('rejected');
    // One caller left; one still waits: the flight must go on.
    expect(workAborted()).toBe(false); // observed: true
    expect(sf.getStats().totalSubscribers).toBe(1); // observed: 0 (counted out twice)
    finish('value');
    expect(await settle(first, 1000)).toEqual({ status: 'fulfilled', value: 'value' }); // observed: hung
  });

  test('a signal whose addEventListener registers then throws, aborted later: the other caller still gets the value', async () => {
    const sf = new Singleflight({ maxDuration: 5000, ...options() });
    const { work, workAborted, finish } = gatedWork();
    const first = sf.execute('k', work);
    const hostile = signalThrowingAfterRegistration();
    const second = sf.execute('k', work, { signal: hostile.signal });
    expect((await settle(second, 1000)).status).toBe('rejected'); // it stopped waiting (documented)
    expect(sf.getStats().totalSubscribers).toBe(1);
    hostile.abort(); // the listener it could not be told about is still registered
    expect(workAborted()).toBe(false); // observed: true
    expect(sf.getStats().totalSubscribers).toBe(1); // observed: 0
    finish('value');
    expect(await settle(first, 1000)).toEqual({ status: 'fulfilled', value: 'value' }); // observed: hung
  });
});
