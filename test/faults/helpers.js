// Helpers for the fault matrix: workers running test/faults/fixtures/fault-worker.js, and
// deadlines, so that a hang fails a test instead of stalling Jest.
const path = require('node:path');
const { inspect } = require('node:util');
const { Worker } = require('node:worker_threads');

const FIXTURE = path.join(__dirname, 'fixtures', 'fault-worker.js');

const live = new Set();
// A failed test must not leave workers behind.
afterEach(async () => {
  await Promise.all([...live].map((worker) => worker.terminate()));
  live.clear();
});

/** Rejects with `what` unless `promise` settles within `ms`. */
function within(promise, ms, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hung: ${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Every promise's outcome, failing the test if any of them has not settled within `ms`. */
const settleAll = (promises, ms, what) => within(Promise.allSettled(promises), ms, what);

/** A worker playing one scenario of fault-worker.js, with a queue of the messages it posted. */
function startFaultWorker(workerData) {
  const worker = new Worker(FIXTURE, { workerData });
  live.add(worker);
  const queue = [];
  const waiters = [];
  const push = (message) => {
    const i = waiters.findIndex((w) => w.type === message.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(message);
    else queue.push(message);
  };
  worker.on('message', push);
  worker.on('error', (error) => push({ type: 'error', error }));
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  exited.then(() => live.delete(worker));
  return {
    worker,
    /** The exit code, once the worker has exited. */
    exited,
    /** The next message of `type`; rejects after `timeoutMs`, or with what the worker reported if it crashed. */
    next(type, timeoutMs = 15_000) {
      const i = queue.findIndex((m) => m.type === type);
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0]);
      const crash = queue.find((m) => m.type === 'crashed' || m.type === 'error');
      if (crash) return Promise.reject(new Error(`worker failed: ${inspect(crash.error)}`));
      return new Promise((resolve, reject) => {
        const entry = { type, resolve };
        waiters.push(entry);
        setTimeout(() => {
          const at = waiters.indexOf(entry);
          if (at < 0) return;
          waiters.splice(at, 1);
          reject(
            new Error(`no "${type}" message within ${timeoutMs} ms; got ${JSON.stringify(queue.map((m) => m.type))}`),
          );
        }, timeoutMs).unref();
      });
    },
    /** The worker's view of the process-wide table: stats, and whether `key` is in flight. */
    probe(key = 'hot') {
      worker.postMessage({ probe: key });
      return this.next('probe');
    },
  };
}

/** A small seeded generator, so that a storm's "random" moments can be replayed. */
function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

module.exports = { startFaultWorker, within, settleAll, seededRandom };
