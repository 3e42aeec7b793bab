// getStats()'s counters: what happened to an instance's flights and callers, counted where it
// happens — for a name, in every thread of the process.
const { Worker } = require('node:worker_threads');
const { Singleflight } = require('../..');

let unique = 0;
const uniqueName = (label) => `counters-${label}-${process.pid}-${unique++}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function gated() {
  let open;
  const gate = new Promise((resolve) => (open = resolve));
  return { gate, open };
}

describe.each([
  ['unnamed', () => undefined],
  ['named', (label) => uniqueName(label)],
])('%s', (_, nameFor) => {
  test('flights started, callers joined, work errors', async () => {
    const sf = new Singleflight({ name: nameFor('basic') });
    const { gate, open } = gated();
    const calls = [sf.execute('a', () => gate), sf.execute('a', () => gate), sf.execute('a', () => gate)];
    const failing = sf.execute('b', async () => {
      throw new Error('x');
    });
    open('v');
    await Promise.all(calls);
    await expect(failing).rejects.toThrow('x');
    expect(sf.getStats()).toMatchObject({
      flightsStarted: 2,
      joinedSameThread: 2,
      joinedOtherThread: 0,
      workErrors: 1,
      timeouts: 0,
      rejected: 0,
      aborted: 0,
    });
  });

  test('rejections by maxSubscribers, aborts, timeouts (per caller)', async () => {
    const sf = new Singleflight({ name: nameFor('limits'), maxSubscribers: 2, maxDuration: 60 });
    const stuck = () => new Promise(() => {});
    const first = sf.execute('k', stuck);
    const controller = new AbortController();
    const leaving = sf.execute('k', stuck, { signal: controller.signal });
    await expect(sf.execute('k', stuck)).rejects.toMatchObject({ code: 'ERR_TOO_MANY_SUBSCRIBERS' });
    controller.abort();
    await expect(leaving).rejects.toMatchObject({ name: 'AbortError' });
    const second = sf.execute('k', stuck);
    await Promise.allSettled([first, second]);
    expect(sf.getStats()).toMatchObject({ rejected: 1, aborted: 1, timeouts: 2, flightsStarted: 1 });
  });
});

test('named: a caller in another thread counts as joined from another thread, and every thread sees the sums', async () => {
  const name = uniqueName('threads');
  const sf = new Singleflight({ name });
  const { gate, open } = gated();
  const mine = sf.execute('k', () => gate);
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const { Singleflight } = require(workerData.root);
     const sf = new Singleflight({ name: workerData.name });
     parentPort.once('message', async () => {
       const joined = sf.execute('k', () => 'never');
       parentPort.postMessage('joined');
       await joined;
       parentPort.postMessage(sf.getStats());
     });`,
    { eval: true, workerData: { name, root: require.resolve('../..') } },
  );
  try {
    worker.postMessage('go');
    await new Promise((resolve) => worker.once('message', resolve));
    while (sf.getStats().totalSubscribers < 2) await sleep(5);
    open('v');
    await mine;
    const seenThere = await new Promise((resolve) => worker.once('message', resolve));
    const seenHere = sf.getStats();
    for (const stats of [seenHere, seenThere]) {
      expect(stats).toMatchObject({ flightsStarted: 1, joinedOtherThread: 1, joinedSameThread: 0 });
    }
  } finally {
    await worker.terminate();
  }
});

test('named: counts stay after the thread that counted them is gone', async () => {
  const name = uniqueName('gone');
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const { Singleflight } = require(workerData.root);
     const sf = new Singleflight({ name: workerData.name });
     Promise.all([sf.execute('a', () => 1), sf.execute('b', () => 2)]).then(() => parentPort.postMessage('done'));`,
    { eval: true, workerData: { name, root: require.resolve('../..') } },
  );
  const sf = new Singleflight({ name }); // keeps the table alive while the worker goes
  await new Promise((resolve) => worker.once('message', resolve));
  await worker.terminate();
  expect(sf.getStats().flightsStarted).toBe(2);
});
