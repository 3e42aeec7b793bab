// Helpers for tests with real worker_threads.
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'flight-worker.js');

/** Shared counters: [0] executions of work in any thread, [1] threads ready, [2] go flag. */
function sharedCounters() {
  const shared = new SharedArrayBuffer(12);
  return { shared, counters: new Int32Array(shared) };
}

const live = new Set();
// A failed test must not leave workers behind (they would keep Jest from exiting).
afterEach(async () => {
  await Promise.all([...live].map((worker) => worker.terminate()));
  live.clear();
});

/** A worker running one scenario, with a queue of the messages it posted. */
function startWorker(workerData) {
  const worker = new Worker(FIXTURE, { workerData });
  live.add(worker);
  worker.once('exit', () => live.delete(worker));
  const queue = [];
  const waiters = [];
  const push = (message) => {
    const i = waiters.findIndex((w) => w.type === undefined || w.type === message.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(message);
    else queue.push(message);
  };
  worker.on('message', push);
  worker.on('error', (error) => push({ type: 'error', error }));
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  return {
    worker,
    exited,
    /** The next message of `type` (or any type), rejecting after `timeoutMs`. */
    next(type, timeoutMs = 15_000) {
      const i = queue.findIndex((m) => type === undefined || m.type === type);
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0]);
      return new Promise((resolve, reject) => {
        const entry = { type, resolve };
        waiters.push(entry);
        setTimeout(() => {
          const at = waiters.indexOf(entry);
          if (at >= 0) {
            waiters.splice(at, 1);
            reject(
              new Error(`no "${type}" message within ${timeoutMs} ms; got ${JSON.stringify(queue.map((m) => m.type))}`),
            );
          }
        }, timeoutMs).unref();
      });
    },
  };
}

/** Waits until `count` threads wait at the barrier, then releases them all at once. */
async function releaseWhenReady(counters, count) {
  while (Atomics.load(counters, 1) < count) await new Promise((resolve) => setTimeout(resolve, 5));
  Atomics.store(counters, 2, 1);
  Atomics.notify(counters, 2);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `predicate` until it holds, failing after `timeoutMs`. */
async function eventually(predicate, timeoutMs = 10_000) {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/**
 * This thread leads `key` with work that waits until `open(value)`; `signal()` is the
 * AbortSignal that work received.
 */
function leadHere(sf, key = 'hot') {
  let open;
  let signal;
  const result = sf.execute(key, (s) => ((signal = s), new Promise((resolve) => (open = resolve))));
  return { result, open: (value) => open(value), signal: () => signal };
}

/**
 * This thread leads a flight of 'hot'; a worker joins it; then `makeUnjoinable(sf)` runs here
 * (clear, forget). The worker's next caller must start a fresh flight, while its first caller
 * still gets this thread's value. Returns the shared execution counter for more checks.
 */
async function expectFreshFlightElsewhereAfter(label, makeUnjoinable) {
  const { Singleflight } = require('../..');
  const { shared, counters } = sharedCounters();
  const name = uniqueName(label);
  const sf = new Singleflight({ name });
  const first = leadHere(sf);
  const worker = startWorker({ scenario: 'callOnRequest', name, shared, id: 'W' });
  await worker.next('ready');
  worker.worker.postMessage('call');
  expect((await worker.next('called')).inFlight).toBe(true); // joined this thread's flight

  makeUnjoinable(sf);
  worker.worker.postMessage('call');
  expect((await worker.next('result')).value).toEqual({ by: 'W', call: 2 }); // a fresh flight, run there
  first.open('old');
  await expect(first.result).resolves.toBe('old');
  expect(await worker.next('result')).toMatchObject({ call: 1, value: 'old' });
  expect(Atomics.load(counters, 0)).toBe(1);
  return sf;
}

let nameCounter = 0;
/** A fresh Singleflight name per test, so tests never share a table. */
const uniqueName = (label) => `${label}-${process.pid}-${++nameCounter}`;

module.exports = {
  sharedCounters,
  startWorker,
  releaseWhenReady,
  sleep,
  eventually,
  uniqueName,
  expectFreshFlightElsewhereAfter,
  leadHere,
};
