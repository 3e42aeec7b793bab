// Threads that die, limits that hold process-wide, and processes that end on their own.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { Singleflight, FlightTimeoutError, TooManySubscribersError, OptionsMismatchError } = require('../..');
const {
  sharedCounters,
  startWorker,
  eventually,
  uniqueName,
  sleep,
  expectFreshFlightElsewhereAfter,
  leadHere,
} = require('./helpers');

const fixtures = path.join(__dirname, '..', 'fixtures');

describe('threads that go away', () => {
  test("the leader's worker is terminated mid-flight: one waiter takes over, the others join it", async () => {
    const { shared, counters } = sharedCounters();
    const name = uniqueName('leader-dies');
    const leader = startWorker({ scenario: 'leadForever', name, shared });
    await leader.next('leading');
    const waiters = [1, 2, 3].map((id) =>
      startWorker({ scenario: 'waitFor', name, shared, id, callers: 4, workMs: 100 }),
    );
    await Promise.all(waiters.map((w) => w.next('waiting')));
    const sf = new Singleflight({ name });
    const here = [1, 2].map(() => sf.execute('hot', async () => (Atomics.add(counters, 0, 1), { id: 'main' })));
    await eventually(() => sf.getStats().totalSubscribers === 1 + 12 + 2);

    await leader.worker.terminate();
    const results = await Promise.all(here);
    const reports = await Promise.all(waiters.map((w) => w.next('done')));
    expect(Atomics.load(counters, 0)).toBe(2); // the dead leader's run and exactly one after it
    // Whoever took over (this thread or a worker), every caller everywhere got its value.
    const producer = (value) => value.id ?? value.by;
    const everyone = [...results, ...reports.flatMap((r) => r.outcomes.map((o) => o.value))];
    expect(everyone).toHaveLength(2 + 12);
    expect(new Set(everyone.map(producer)).size).toBe(1);
    expect(sf.getStats()).toMatchObject({ inFlightCount: 0, totalSubscribers: 0 });
  });

  test('a waiting worker is terminated: nothing is delivered to it, its callers leave the count', async () => {
    const { shared } = sharedCounters();
    const name = uniqueName('waiter-dies');
    const sf = new Singleflight({ name });
    const here = leadHere(sf);
    const waiter = startWorker({ scenario: 'waitFor', name, shared, id: 'W', callers: 5 });
    await waiter.next('waiting');
    expect(sf.getStats().totalSubscribers).toBe(6);
    await waiter.worker.terminate();
    await eventually(() => sf.getStats().totalSubscribers === 1);
    here.open('value');
    await expect(here.result).resolves.toBe('value');
    expect(sf.getStats()).toMatchObject({ inFlightCount: 0, totalSubscribers: 0 });
  });

  test('a storm of worker terminations around a hot key: no crash, nothing hangs, nothing is left', async () => {
    const { shared } = sharedCounters();
    const name = uniqueName('storm');
    const sf = new Singleflight({ name });
    const mine = [];
    for (let round = 0; round < 6; round++) {
      const crowd = Array.from({ length: 6 }, (_, id) =>
        startWorker({
          scenario: id % 3 === 0 ? 'leadForever' : 'waitFor',
          name,
          shared,
          id,
          callers: 3,
          workMs: 30,
        }),
      );
      mine.push(sf.execute('hot', async () => (await sleep(20), 'main')));
      await sleep(10 + round * 7);
      // Kill them at different moments, some before they even started.
      await Promise.all(crowd.map((w, i) => sleep(i * 3).then(() => w.worker.terminate())));
    }
    const outcomes = await Promise.allSettled(mine);
    for (const o of outcomes) expect(o.status).toBe('fulfilled');
    await eventually(() => sf.getInFlightCount() === 0 && sf.getStats().totalSubscribers === 0);
    // The table still works.
    await expect(sf.execute('hot', async () => 'after')).resolves.toBe('after');
  });
});

describe('limits apply to the flight process-wide', () => {
  test('maxSubscribers counts callers in every thread', async () => {
    const { shared } = sharedCounters();
    const name = uniqueName('max-subs');
    const sf = new Singleflight({ name, maxSubscribers: 4 });
    const lead = leadHere(sf);
    const here = [lead.result, sf.execute('hot', () => 0)];
    const waiter = startWorker({
      scenario: 'waitFor',
      name,
      shared,
      id: 'W',
      callers: 4,
      options: { maxSubscribers: 4 },
    });
    await waiter.next('waiting');
    await expect(sf.execute('hot', () => 0)).rejects.toBeInstanceOf(TooManySubscribersError);
    lead.open('v');
    await Promise.all(here);
    const done = await waiter.next('done');
    const accepted = done.outcomes.filter((o) => o.value === 'v');
    const refused = done.outcomes.filter((o) => o.error?.code === 'ERR_TOO_MANY_SUBSCRIBERS');
    expect(accepted).toHaveLength(2);
    expect(refused).toHaveLength(2);
  });

  test('maxDuration: waiters in every thread get FlightTimeoutError, and the next caller starts afresh', async () => {
    const { shared, counters } = sharedCounters();
    const name = uniqueName('max-duration');
    const options = { maxDuration: 150 };
    const leader = startWorker({ scenario: 'leadForever', name, shared, options });
    await leader.next('leading');
    const sf = new Singleflight({ name, ...options });
    const error = await sf.execute('hot', () => 'must not run').catch((e) => e);
    expect(error).toBeInstanceOf(FlightTimeoutError);
    expect((await leader.next('rejected')).error.code).toBe('ERR_FLIGHT_TIMEOUT');
    await eventually(() => !sf.isInFlight('hot'));
    await expect(sf.execute('hot', async () => 'fresh')).resolves.toBe('fresh');
    expect(Atomics.load(counters, 0)).toBe(1);
  });

  test('the same name with other options is refused, in this thread and in others', async () => {
    const name = uniqueName('mismatch');
    const sf = new Singleflight({ name, maxDuration: 1000 });
    expect(sf.maxDuration).toBe(1000);
    expect(() => new Singleflight({ name, maxDuration: 2000 })).toThrow(OptionsMismatchError);
    expect(() => new Singleflight({ name, maxDuration: 2000 })).toThrow(
      /already in use with maxSubscribers Infinity, maxDuration 1000 ms/,
    );
    expect(new Singleflight({ name, maxDuration: 1000 }).maxDuration).toBe(1000);
    const { shared } = sharedCounters();
    const other = startWorker({ scenario: 'construct', name, shared, options: { maxDuration: 2000 } });
    const failed = await other.next('construct-failed');
    expect(failed.error).toMatchObject({ name: 'OptionsMismatchError', code: 'ERR_OPTIONS_MISMATCH' });
    const same = startWorker({ scenario: 'construct', name, shared, options: { maxDuration: 1000 } });
    await same.next('constructed');
  });
});

describe('clear() across threads', () => {
  test('after clear() in one thread, new callers in every thread start afresh; earlier ones still get their flight', async () => {
    const sf = await expectFreshFlightElsewhereAfter('clear', (table) => table.clear());
    await eventually(() => sf.getInFlightCount() === 0 && sf.getStats().totalSubscribers === 0);
  });
});

describe('processes end on their own', () => {
  const run = (script) => {
    const child = spawnSync(process.execPath, [path.join(fixtures, script)], { encoding: 'utf8', timeout: 60_000 });
    expect({ status: child.status, signal: child.signal, stderr: child.stderr }).toEqual({
      status: 0,
      signal: null,
      stderr: '',
    });
    return child.stdout;
  };

  test('a process whose threads coalesced exits by itself when the work is done', () => {
    expect(run('threads-exit.js').trim()).toBe('executions=1 results=4');
  });

  test('workers that alone load the addon can start and exit again and again', () => {
    expect(run('worker-only-loads.js').trim()).toBe('rounds=20 ok');
  });
});
