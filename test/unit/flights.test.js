// getFlights(): the flights in the air, for a health check — hashes of keys, ages, the thread
// running the work, callers — process-wide for a name.
const { Worker } = require('node:worker_threads');
const { Singleflight } = require('../..');

let unique = 0;
const uniqueName = (label) => `flights-${label}-${process.pid}-${unique++}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each([
  ['unnamed', () => undefined],
  ['named', (label) => uniqueName(label)],
])('%s', (_, nameFor) => {
  test('reports each flight in the air, oldest first, filtered by age, without its key', async () => {
    // An unnamed instance stamps flights in slots of a tenth of maxDuration: 30 ms here.
    const sf = new Singleflight({ name: nameFor('report'), maxDuration: 300 });
    let open;
    const gate = new Promise((resolve) => (open = resolve));
    const calls = [sf.execute('user:secret-1', () => gate), sf.execute('user:secret-1', () => gate)];
    await sleep(90);
    calls.push(sf.execute('user:secret-2', () => gate));
    const all = sf.getFlights();
    expect(all).toHaveLength(2);
    expect(all[0]).toMatchObject({ thread: 0, callers: 2, joinable: true });
    expect(all[0].age).toBeGreaterThanOrEqual(60);
    expect(all[1].callers).toBe(1);
    expect(all[0].keyHash).toMatch(/^[0-9a-f]{16}$/);
    expect(all[0].keyHash).not.toBe(all[1].keyHash);
    expect(JSON.stringify(all)).not.toMatch(/secret/);
    expect(sf.getFlights({ olderThan: 60 })).toHaveLength(1);
    expect(sf.getFlights({ limit: 1 })).toEqual([all[0]].map((f) => ({ ...f, age: expect.any(Number) })));
    open(1);
    await Promise.all(calls);
    expect(sf.getFlights()).toEqual([]);
  });
});

test("named: a flight led by a worker is reported from the main thread, with the worker's threadId", async () => {
  const name = uniqueName('worker');
  const worker = new Worker(
    `const { parentPort, workerData, threadId } = require('node:worker_threads');
     const { Singleflight } = require(workerData.root);
     const sf = new Singleflight({ name: workerData.name });
     sf.execute('k', () => new Promise(() => {}));
     parentPort.postMessage(threadId);`,
    { eval: true, workerData: { name, root: require.resolve('../..') } },
  );
  try {
    const workerThreadId = await new Promise((resolve) => worker.once('message', resolve));
    const sf = new Singleflight({ name });
    const [flight] = sf.getFlights();
    expect(flight).toMatchObject({ thread: workerThreadId, callers: 1, joinable: true });
  } finally {
    await worker.terminate();
  }
});

test('bad options are a RangeError naming the option', () => {
  const sf = new Singleflight();
  expect(() => sf.getFlights({ olderThan: -1 })).toThrow(/"olderThan"/);
  expect(() => sf.getFlights({ limit: 'all' })).toThrow(/"limit"/);
});
