// A named FlightCache across real worker_threads: one store for the process, so a value stored
// by one thread serves hits in every other, a miss runs the factory once for the process, and
// a deletion takes effect in every thread at once.
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { FlightCache } = require('../..');

const FIXTURE = path.join(__dirname, 'fixtures', 'cache-worker.js');
let unique = 0;
const uniqueName = (label) => `cache-threads-${label}-${process.pid}-${unique++}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const live = new Set();
afterEach(async () => {
  await Promise.all([...live].map((worker) => worker.terminate()));
  live.clear();
});

function shared() {
  return { shared: new SharedArrayBuffer(4), times: new SharedArrayBuffer(8 * 64) };
}

/** A worker answering requests: `call(op, args)` resolves with its reply. */
async function startWorker(memory, id) {
  const worker = new Worker(FIXTURE, { workerData: { ...memory, id } });
  live.add(worker);
  const pending = new Map();
  let next = 0;
  worker.on('message', (message) => {
    if (message.id === undefined) return;
    pending.get(message.id)(message);
    pending.delete(message.id);
  });
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    worker,
    call(op, args) {
      const id = next++;
      worker.postMessage({ id, op, ...args });
      return new Promise((resolve) => pending.set(id, resolve));
    },
  };
}

const runs = (memory) => Atomics.load(new Int32Array(memory.shared), 0);

describe('a named FlightCache across worker_threads', () => {
  test('a value stored by one thread serves hits in another without running its factory', async () => {
    const memory = shared();
    const name = uniqueName('share');
    const cache = new FlightCache({ name, ttl: '1m' });
    const value = await cache.getOrSet('user:1', () => ({ id: 1, name: 'Ada', tags: new Set(['a']) }));
    const worker = await startWorker(memory, 'W');
    const reply = await worker.call('getOrSet', { cache: { name }, key: 'user:1', factory: { value: 'must not run' } });
    // A structured clone (the Set survives; it comes from the worker's realm, hence Array.from).
    expect({ ...reply.value, tags: Array.from(reply.value.tags) }).toEqual({ id: 1, name: 'Ada', tags: ['a'] });
    expect(value.tags).toBeInstanceOf(Set);
    expect(reply.status).toEqual({ get: 'hit' });
    expect(runs(memory)).toBe(0);
    // And the other way: the worker's value serves this thread.
    await worker.call('getOrSet', { cache: { name }, key: 'user:2', factory: { value: { id: 2 } } });
    expect(cache.get('user:2')).toEqual({ id: 2 });
    // Unnamed caches share nothing.
    const reply2 = await worker.call('getOrSet', { cache: {}, key: 'user:1', factory: { value: 'own' } });
    expect(reply2.value).toBe('own');
  });

  test('8 workers hammering one key for 3 TTL periods run the factory once per period', async () => {
    const memory = shared();
    const name = uniqueName('hammer');
    const ttl = 300;
    const workers = await Promise.all(Array.from({ length: 8 }, (_, i) => startWorker(memory, `W${i}`)));
    const start = Date.now();
    const untilMs = start + 3 * ttl - 60;
    const calls = await Promise.all(
      workers.map((w) =>
        w.call('hammer', { cache: { name, ttl }, key: 'hot', factory: { value: 'v', delayMs: 20 }, untilMs }),
      ),
    );
    const executions = runs(memory);
    const stamps = Array.from(new Float64Array(memory.times).subarray(0, executions));
    expect(calls.every((c) => c.value > 50)).toBe(true);
    expect(executions).toBe(3);
    // Each refill came after the previous value's ttl ran out: never two in one period.
    for (let i = 1; i < stamps.length; i++) expect(stamps[i] - stamps[i - 1]).toBeGreaterThanOrEqual(ttl - 10);
    const stats = new FlightCache({ name, ttl }).stats();
    expect(stats.factoryRuns).toBe(3);
    expect(stats.hits).toBeGreaterThan(8 * 50 - 3 * 8);
  });

  test('delete() and clear() in one thread take effect in every thread at once', async () => {
    const memory = shared();
    const name = uniqueName('invalidate');
    const cache = new FlightCache({ name, ttl: '1h' });
    const worker = await startWorker(memory, 'W');
    await cache.getOrSet('k', () => 'v1');
    expect((await worker.call('get', { cache: { name, ttl: '1h' }, key: 'k' })).value).toBe('v1');
    expect((await worker.call('delete', { cache: { name, ttl: '1h' }, key: 'k' })).value).toBe(true);
    expect(cache.get('k')).toBeUndefined();
    await cache.getOrSet('a', () => 1);
    await cache.getOrSet('b', () => 2);
    await worker.call('clear', { cache: { name, ttl: '1h' } });
    expect(cache.has('a') || cache.has('b')).toBe(false);
  });

  test("a deletion racing another thread's refresh: the old value is never written back", async () => {
    const memory = shared();
    const name = uniqueName('race');
    const cache = new FlightCache({ name, ttl: '1h' });
    const worker = await startWorker(memory, 'W');
    const filling = worker.call('getOrSet', {
      cache: { name, ttl: '1h' },
      key: 'k',
      factory: { value: 'old', delayMs: 100 },
    });
    while (runs(memory) === 0) await sleep(2);
    cache.delete('k');
    expect((await filling).value).toBe('old');
    expect(cache.get('k')).toBeUndefined();
    expect((await worker.call('get', { cache: { name, ttl: '1h' }, key: 'k' })).value).toBeUndefined();
  });

  test('a miss in several threads at once runs the factory once for the process', async () => {
    const memory = shared();
    const name = uniqueName('miss');
    const workers = await Promise.all(Array.from({ length: 4 }, (_, i) => startWorker(memory, `W${i}`)));
    const replies = await Promise.all(
      workers.map((w) => w.call('getOrSet', { cache: { name }, key: 'k', factory: { delayMs: 50 } })),
    );
    expect(runs(memory)).toBe(1);
    expect(new Set(replies.map((r) => JSON.stringify(r.value))).size).toBe(1);
  });

  test('maxEntries is one bound for the whole process, and counters add up across threads', async () => {
    const memory = shared();
    const name = uniqueName('bound');
    const cache = new FlightCache({ name, maxEntries: 10 });
    const worker = await startWorker(memory, 'W');
    for (let i = 0; i < 10; i++) await cache.getOrSet(`main-${i}`, () => i);
    for (let i = 0; i < 10; i++) {
      await worker.call('getOrSet', { cache: { name, maxEntries: 10 }, key: `w-${i}`, factory: { value: i } });
    }
    const stats = cache.stats();
    expect(stats.entries).toBe(10);
    expect(stats.evictions).toBe(10);
    expect(stats.factoryRuns).toBe(20);
    expect(stats.misses).toBe(20);
  });

  test('a value a named cache cannot share is an error in the thread that made it', async () => {
    const memory = shared();
    const name = uniqueName('unshareable');
    const worker = await startWorker(memory, 'W');
    const cache = new FlightCache({ name });
    await expect(cache.getOrSet('k', () => new WeakMap())).rejects.toMatchObject({ code: 'ERR_CACHE_VALUE' });
    const reply = await worker.call('get', { cache: { name }, key: 'k' });
    expect(reply.value).toBeUndefined();
  });
});
