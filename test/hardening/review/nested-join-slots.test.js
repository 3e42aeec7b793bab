// The flight slots (src/binding/protocol.h FlightSlot) are one per thread: NativeTable.join()
// must read everything join() left there before any user code can run. Creating the flight's
// promise (new Flight) runs async_hooks init hooks, synchronously; one that calls into the
// library joins another flight, which overwrites the slots. The outer flight then took the
// other flight's start (startedMs) and expired early, counted from when the other one started.
const async_hooks = require('node:async_hooks');
const { Worker } = require('node:worker_threads');
const { Singleflight, FlightTimeoutError } = require('../../..');
const { settle } = require('./helpers');

const MAX_DURATION = 1000;
const HEAD_START = 600; // the worker's flight started this long before the outer one

test('a join nested in the flight promise creation does not give the outer flight its start', async () => {
  const name = `nested-join-slots-${process.pid}`;
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const { Singleflight } = require(workerData.root);
     const sf = new Singleflight({ name: workerData.name, maxDuration: workerData.maxDuration });
     sf.execute('other', () => new Promise(() => {})).catch(() => {});
     parentPort.postMessage('leading');`,
    { eval: true, workerData: { root: require.resolve('../../..'), name, maxDuration: MAX_DURATION } },
  );
  try {
    await new Promise((resolve) => worker.once('message', resolve));
    await new Promise((resolve) => setTimeout(resolve, HEAD_START));
    const sf = new Singleflight({ name, maxDuration: MAX_DURATION });
    let nested;
    let armed = true;
    const hook = async_hooks.createHook({
      init(_id, type) {
        if (!armed || type !== 'PROMISE' || !new Error().stack.includes('new Flight')) return;
        armed = false;
        nested = sf.execute('other', () => new Promise(() => {})); // follows the worker's flight
        nested.catch(() => {});
      },
    });
    hook.enable();
    const started = performance.now();
    let outer;
    try {
      outer = sf.execute('k', () => new Promise(() => {}));
    } finally {
      hook.disable();
    }
    expect(nested).toBeDefined(); // the hook did join the other flight
    const outcome = await settle(
      outer.then(
        () => 'resolved',
        (error) => (error instanceof FlightTimeoutError ? performance.now() - started : error),
      ),
      MAX_DURATION * 3,
    );
    // Never early: maxDuration counts from the outer flight's own start.
    expect(outcome.value).toBeGreaterThanOrEqual(MAX_DURATION - 20);
  } finally {
    await worker.terminate();
  }
});
