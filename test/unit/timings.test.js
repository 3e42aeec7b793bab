// getStats()' histograms: seconds each run of work took and each caller waited, recorded once
// timings are on — for a name, by every thread of the process, whichever thread turned them on.
const { execFileSync } = require('node:child_process');
const { Worker } = require('node:worker_threads');
const { Singleflight } = require('../..');

let unique = 0;
const uniqueName = (label) => `timings-${label}-${process.pid}-${unique++}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The count of the first bucket whose bound is at least `seconds`. */
const atMost = (histogram, seconds) => histogram.buckets.find((bucket) => bucket.le >= seconds).count;

describe.each([
  ['unnamed', () => undefined],
  ['named', (label) => uniqueName(label)],
])('%s', (_, nameFor) => {
  test('off by default: nothing recorded, every bucket empty', async () => {
    const sf = new Singleflight({ name: nameFor('off') });
    await Promise.all([sf.execute('k', () => sleep(5)), sf.execute('k', () => 'x')]);
    const { timings, executionTime, waitTime } = sf.getStats();
    expect(timings).toBe(false);
    for (const histogram of [executionTime, waitTime]) {
      expect(histogram).toMatchObject({ count: 0, sum: 0 });
      expect(histogram.buckets.map((bucket) => bucket.count)).toEqual(histogram.buckets.map(() => 0));
      expect(histogram.buckets.at(-1).le).toBe(Infinity);
    }
  });

  test('one run and one wait per caller, in the bucket of their duration', async () => {
    const sf = new Singleflight({ name: nameFor('on') });
    sf.enableTimings();
    let open;
    const gate = new Promise((resolve) => (open = resolve));
    const first = sf.execute('k', () => gate);
    await sleep(60);
    const late = sf.execute('k', () => 'never');
    open('v');
    await Promise.all([first, late, sf.execute('quick', () => 'q')]);
    const { timings, executionTime, waitTime } = sf.getStats();
    expect(timings).toBe(true);
    expect(executionTime.count).toBe(2);
    expect(waitTime.count).toBe(3);
    // The quick run and the late caller's wait took next to nothing; the first run and wait, 60 ms.
    expect(atMost(executionTime, 0.05)).toBe(1);
    expect(executionTime.sum).toBeGreaterThanOrEqual(0.055);
    expect(atMost(waitTime, 0.05)).toBe(2);
    expect(waitTime.sum).toBeGreaterThanOrEqual(0.055);
    expect(waitTime.sum).toBeLessThan(executionTime.sum + 0.05);
    const counts = waitTime.buckets.map((bucket) => bucket.count);
    expect(counts).toEqual([...counts].sort((a, b) => a - b)); // cumulative
    expect(counts.at(-1)).toBe(waitTime.count);
  });

  test('errors, aborts and timeouts are waits (callers turned away are not); a run is timed when its work settles', async () => {
    const sf = new Singleflight({ name: nameFor('outcomes'), maxDuration: 40, maxSubscribers: 2, timings: true });
    await expect(
      sf.execute('err', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    let finish;
    const stuck = sf.execute('slow', () => new Promise((resolve) => (finish = resolve)));
    const controller = new AbortController();
    const leaving = sf.execute('slow', () => 'never', { signal: controller.signal });
    await expect(sf.execute('slow', () => 'never')).rejects.toMatchObject({ code: 'ERR_TOO_MANY_SUBSCRIBERS' });
    controller.abort();
    await expect(leaving).rejects.toMatchObject({ name: 'AbortError' });
    await expect(stuck).rejects.toMatchObject({ code: 'ERR_FLIGHT_TIMEOUT' });
    // Timed out: the caller's wait is recorded, the run is not over yet.
    expect(sf.getStats()).toMatchObject({ executionTime: { count: 1 }, waitTime: { count: 3 } });
    finish('late');
    await sleep(0);
    expect(sf.getStats().executionTime.count).toBe(2);
    expect(atMost(sf.getStats().executionTime, 0.025)).toBe(1); // the error, at once
  });

  test('do() and signals are timed like execute()', async () => {
    const sf = new Singleflight({ name: nameFor('do'), timings: true });
    const signal = new AbortController().signal;
    const results = await Promise.all([
      sf.do('k', () => sleep(10).then(() => 1)),
      sf.do('k', () => 2, { signal }),
      sf.execute('k', () => 3, { signal }),
    ]);
    expect(results).toEqual([{ value: 1, shared: true }, { value: 1, shared: true }, 1]);
    expect(sf.getStats()).toMatchObject({ executionTime: { count: 1 }, waitTime: { count: 3 } });
  });
});

test('"timings" must be a boolean', () => {
  expect(() => new Singleflight({ timings: 'yes' })).toThrow(
    new TypeError('Singleflight option "timings" must be a boolean, received a string ("yes")'),
  );
  expect(() => new Singleflight({ timing: true })).toThrow(/Unknown Singleflight option "timing".*timings/);
});

test('an unnamed instance times itself only', async () => {
  const timed = new Singleflight({ timings: true });
  const other = new Singleflight();
  await Promise.all([timed.execute('k', () => 1), other.execute('k', () => 1)]);
  expect(timed.getStats().waitTime.count).toBe(1);
  expect(other.getStats()).toMatchObject({ timings: false, waitTime: { count: 0 } });
});

test('a rejection nobody handles stays unhandled when timed', () => {
  const script = `
    const { Singleflight } = require(${JSON.stringify(require.resolve('../..'))});
    process.on('unhandledRejection', (reason) => { console.log('unhandled:' + reason.message); });
    new Singleflight({ timings: true }).execute('k', async () => { throw new Error('nobody listens'); });`;
  expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })).toBe('unhandled:nobody listens\n');
});

test('named: turned on in one thread, recorded by every thread — those already running and those to come', async () => {
  const name = uniqueName('threads');
  const sf = new Singleflight({ name });
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const { Singleflight } = require(workerData.root);
     const sf = new Singleflight({ name: workerData.name });
     parentPort.on('message', async (key) => {
       await sf.execute(key, () => new Promise((resolve) => setTimeout(resolve, 30)));
       parentPort.postMessage('done');
     });`,
    { eval: true, workerData: { name, root: require.resolve('../..') } },
  );
  const ask = (key) => {
    worker.postMessage(key);
    return new Promise((resolve) => worker.once('message', resolve));
  };
  try {
    await ask('before');
    expect(sf.getStats().executionTime.count).toBe(0);
    sf.enableTimings(); // in this thread; the worker's instance exists already
    await ask('after');
    const stats = sf.getStats();
    expect(stats).toMatchObject({ timings: true, executionTime: { count: 1 }, waitTime: { count: 1 } });
    expect(stats.executionTime.sum).toBeGreaterThanOrEqual(0.025);
  } finally {
    await worker.terminate();
  }
  // The worker's lane is gone; its observations stay in the totals.
  expect(sf.getStats().executionTime.count).toBe(1);

  const later = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const { Singleflight } = require(workerData.root);
     new Singleflight({ name: workerData.name }).execute('k', () => 1).then(() => parentPort.postMessage('done'));`,
    { eval: true, workerData: { name, root: require.resolve('../..') } },
  );
  try {
    await new Promise((resolve) => later.once('message', resolve));
  } finally {
    await later.terminate();
  }
  expect(sf.getStats()).toMatchObject({ executionTime: { count: 2 }, waitTime: { count: 2 } });
});
