// One execution per key across worker_threads, and what crosses between them.
const v8 = require('node:v8');
const { Singleflight } = require('../..');
const { sharedCounters, startWorker, releaseWhenReady, eventually, uniqueName, sleep } = require('./helpers');

describe('coalescing across worker_threads', () => {
  test('8 workers × 25 concurrent callers of one key: the work runs exactly once in the process', async () => {
    const { shared, counters } = sharedCounters();
    const name = uniqueName('crowd');
    const workers = Array.from({ length: 8 }, (_, id) =>
      startWorker({ scenario: 'crowd', name, shared, id, callers: 25, workMs: 300, value: 'rich' }),
    );
    await releaseWhenReady(counters, 8);
    const reports = await Promise.all(workers.map((w) => w.next('done')));
    expect(Atomics.load(counters, 0)).toBe(1);
    const leader = reports[0].value.by;
    for (const r of reports) {
      expect(r.fulfilled).toBe(25);
      expect(r.errors).toEqual([]);
      expect(r.sameObject).toBe(true); // callers in one thread share one object
      expect(r.value.by).toBe(leader);
      expect(r.stats).toMatchObject({ inFlightCount: 0, totalSubscribers: 0 });
    }
    await Promise.all(workers.map((w) => w.worker.terminate()));
  });

  test('values cross with structured-clone semantics; the leader thread keeps the very object', async () => {
    const { shared, counters } = sharedCounters();
    const name = uniqueName('rich');
    const leader = startWorker({ scenario: 'leadUntilTold', name, shared, id: 'L', value: 'rich' });
    await leader.next('leading');
    const sf = new Singleflight({ name });
    const here = sf.execute('hot', () => 'must not run');
    await eventually(() => sf.getStats().totalSubscribers === 2);
    leader.worker.postMessage('release');
    const value = await here;
    expect(value.by).toBe('L');
    expect(value.list).toEqual([1, 'two', { three: 3 }]);
    // Brand checks, not instanceof: Jest runs tests in a separate realm, and clones are
    // built in the main one.
    const tag = (v) => Object.prototype.toString.call(v);
    expect(tag(value.map)).toBe('[object Map]');
    expect([...value.map]).toEqual([['a', 1]]);
    expect(tag(value.set)).toBe('[object Set]');
    expect([...value.set]).toEqual([1, 2]);
    expect(tag(value.date)).toBe('[object Date]');
    expect(value.date.getTime()).toBe(1_700_000_000_000);
    expect(tag(value.bytes)).toBe('[object Uint8Array]');
    expect([...value.bytes]).toEqual([1, 2, 3]);
    expect(Buffer.from(value.buffer).toString()).toBe('buf');
    expect(Object.is(value.nested.deep.deeper[3], -0)).toBe(true);
    expect(Number.isNaN(value.nested.deep.deeper[2])).toBe(true);
    expect(tag(value.error)).toBe('[object Error]');
    expect(value.error.message).toBe('inside');
    expect(Atomics.load(counters, 0)).toBe(1);
    await leader.next('done');
    await leader.worker.terminate();
  });

  test('multi-megabyte values cross intact', async () => {
    const { shared, counters } = sharedCounters();
    const name = uniqueName('huge');
    const leader = startWorker({ scenario: 'leadUntilTold', name, shared, id: 'L', value: 'huge' });
    await leader.next('leading');
    const waiters = [1, 2].map((id) => startWorker({ scenario: 'waitFor', name, shared, id }));
    await Promise.all(waiters.map((w) => w.next('waiting')));
    const sf = new Singleflight({ name });
    const here = sf.execute('hot', () => 'must not run');
    leader.worker.postMessage('release');
    const value = await here;
    expect(value.blob.length).toBe(8 * 1024 * 1024);
    expect(value.blob.every((b) => b === 7)).toBe(true);
    expect(value.text).toBe('é'.repeat(1_000_000));
    for (const w of waiters) {
      const done = await w.next('done');
      expect(done.outcomes[0].value.blob.length).toBe(8 * 1024 * 1024);
    }
    expect(Atomics.load(counters, 0)).toBe(1);
    await Promise.all([leader, ...waiters].map((w) => w.worker.terminate()));
  });

  test('errors cross keeping class, name, message, code, stack and own properties', async () => {
    const { shared } = sharedCounters();
    const name = uniqueName('errors');
    const leader = startWorker({ scenario: 'leadUntilTold', name, shared, id: 'L', fail: true });
    await leader.next('leading');
    const sf = new Singleflight({ name });
    const here = sf.execute('hot', () => 'must not run');
    leader.worker.postMessage('release');
    const error = await here.catch((e) => e);
    const there = (await leader.next('done')).result.error;
    expect(error).toBeInstanceOf(TypeError);
    expect(error.name).toBe('TypeError');
    expect(error.message).toBe('no such row');
    expect(error.code).toBe('E_NO_ROW');
    expect(error.detail).toEqual({ table: 'users' });
    expect(error.stack).toBe(there.stack);
    expect(error.stack).toContain('flight-worker.js');
    await leader.worker.terminate();
  });

  test('a value that cannot be cloned: waiters elsewhere run their own work; counted and warned once', async () => {
    const { shared, counters } = sharedCounters();
    const name = uniqueName('uncloneable');
    const leader = startWorker({ scenario: 'leadUntilTold', name, shared, id: 'L', value: 'function' });
    await leader.next('leading');
    const sf = new Singleflight({ name });
    let ownRuns = 0;
    const calls = [1, 2, 3].map(() => sf.execute('hot', async () => ({ by: 'main', run: ++ownRuns })));
    await eventually(() => sf.getStats().totalSubscribers === 4);
    leader.worker.postMessage('release');
    const values = await Promise.all(calls);
    expect(ownRuns).toBe(1); // the three callers of this thread still share one fallback run
    for (const v of values) expect(v).toBe(values[0]);
    const done = await leader.next('done');
    expect(done.result.value.kept).toBe('function'); // the leader's own callers got the object as is
    expect(done.warnings).toEqual(['THREADFLIGHT_UNCLONEABLE']);
    expect(sf.getStats().cloneFailures).toBe(1);
    expect(Atomics.load(counters, 0)).toBe(1);
    await leader.worker.terminate();
  });

  test('a flight with no waiter in another thread is never serialized', async () => {
    const name = uniqueName('no-serialize');
    const sf = new Singleflight({ name });
    const original = v8.serialize;
    let serialized = 0;
    v8.serialize = (...args) => {
      serialized += 1;
      return original(...args);
    };
    try {
      for (let i = 0; i < 50; i++) {
        const calls = [1, 2, 3].map(() => sf.execute(`k${i % 5}`, async () => ({ i })));
        await Promise.all(calls);
      }
      expect(serialized).toBe(0);
      // With a waiter elsewhere, the value is serialized once per flight.
      const { shared } = sharedCounters();
      const gate = { open: undefined };
      const here = sf.execute('hot', () => new Promise((resolve) => (gate.open = resolve)));
      const waiter = startWorker({ scenario: 'waitFor', name, shared, id: 'W' });
      await waiter.next('waiting');
      gate.open({ payload: 1 });
      await here;
      expect((await waiter.next('done')).outcomes[0].value).toEqual({ payload: 1 });
      expect(serialized).toBe(1);
      await waiter.worker.terminate();
    } finally {
      v8.serialize = original;
    }
  });

  test('getStats, isInFlight and getInFlightCount report the whole process for a name', async () => {
    const { shared } = sharedCounters();
    const name = uniqueName('stats');
    const leader = startWorker({ scenario: 'leadUntilTold', name, shared, id: 'L' });
    await leader.next('leading');
    const waiter = startWorker({ scenario: 'waitFor', name, shared, id: 'W', callers: 3 });
    await waiter.next('waiting');
    const sf = new Singleflight({ name });
    expect(sf.isInFlight('hot')).toBe(true);
    expect(sf.getInFlightCount()).toBe(1);
    await eventually(() => sf.getStats().totalSubscribers === 4);
    const observer = startWorker({ scenario: 'observe', name, shared });
    const view = await observer.next('view');
    expect(view).toMatchObject({ inFlight: true, count: 1, stats: { inFlightCount: 1, totalSubscribers: 4 } });
    leader.worker.postMessage('release');
    await waiter.next('done');
    await eventually(() => sf.getInFlightCount() === 0);
    expect(sf.getStats()).toMatchObject({ inFlightCount: 0, totalSubscribers: 0, oldestCallAge: null });
    await Promise.all([leader, waiter, observer].map((w) => w.worker.terminate()));
    await sleep(0);
  });
});
