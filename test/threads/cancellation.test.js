// Cancellation across worker_threads: one thread's callers leaving affects nobody else, and
// the work stops only when every caller in every thread has left.
const { Singleflight } = require('../..');
const {
  sharedCounters,
  startWorker,
  eventually,
  uniqueName,
  expectFreshFlightElsewhereAfter,
  leadHere,
} = require('./helpers');

describe('cancellation across worker_threads', () => {
  test('callers aborting in another thread are rejected there; everyone else still gets the value', async () => {
    const { shared, counters } = sharedCounters();
    const name = uniqueName('abort-remote');
    const sf = new Singleflight({ name });
    const here = leadHere(sf);
    const worker = startWorker({ scenario: 'callersWithSignals', name, shared, id: 'W', callers: 3 });
    await worker.next('waiting');
    await eventually(() => sf.getStats().totalSubscribers === 4);
    worker.worker.postMessage({ abort: 2 });
    await worker.next('aborted');
    await eventually(() => sf.getStats().totalSubscribers === 2);
    expect(here.signal().aborted).toBe(false);
    here.open({ v: 1 });
    await expect(here.result).resolves.toEqual({ v: 1 });
    const done = await worker.next('done');
    expect(done.outcomes.map((o) => o.error?.name ?? o.value.v)).toEqual(['AbortError', 'AbortError', 1]);
    expect(Atomics.load(counters, 0)).toBe(0); // only this thread's work ran
  });

  test('a waiting thread whose callers all leave stops waiting; the leader goes on for its own', async () => {
    const { shared } = sharedCounters();
    const name = uniqueName('leave-remote');
    const sf = new Singleflight({ name });
    const here = leadHere(sf);
    const worker = startWorker({ scenario: 'callersWithSignals', name, shared, id: 'W', callers: 2 });
    await worker.next('waiting');
    worker.worker.postMessage({ abort: 2 });
    const done = await worker.next('done');
    expect(done.outcomes.map((o) => o.error?.name)).toEqual(['AbortError', 'AbortError']);
    await eventually(() => sf.getStats().totalSubscribers === 1);
    expect(here.signal().aborted).toBe(false);
    here.open('mine');
    await expect(here.result).resolves.toBe('mine');
  });

  test('when every caller in every thread has left, the leader aborts its work and the key is free', async () => {
    const { shared, counters } = sharedCounters();
    const name = uniqueName('abandon');
    // The leader is a worker; this thread and another worker wait; all leave in turn.
    const leader = startWorker({ scenario: 'callersWithSignals', name, shared, id: 'L', callers: 2 });
    await leader.next('waiting');
    const other = startWorker({ scenario: 'callersWithSignals', name, shared, id: 'O', callers: 2 });
    await other.next('waiting');
    const sf = new Singleflight({ name });
    const controller = new AbortController();
    const here = sf.execute('hot', () => 'must not run', { signal: controller.signal });
    await eventually(() => sf.getStats().totalSubscribers === 5);

    leader.worker.postMessage({ abort: 2 }); // the leader's own callers leave: work goes on
    await leader.next('aborted');
    other.worker.postMessage({ abort: 2 });
    await other.next('aborted');
    await eventually(() => sf.getStats().totalSubscribers === 1);
    expect(sf.isInFlight('hot')).toBe(true);

    controller.abort(); // the last caller anywhere
    await expect(here).rejects.toMatchObject({ name: 'AbortError' });
    expect(await leader.next('work-aborted')).toMatchObject({ reason: 'AbortError' });
    expect(sf.isInFlight('hot')).toBe(false);
    await eventually(() => sf.getStats().totalSubscribers === 0);
    expect(Atomics.load(counters, 0)).toBe(1);
    await expect(sf.execute('hot', async () => 'fresh')).resolves.toBe('fresh');
  });

  // Without maxSubscribers a thread's callers count once in the flight (a duplicate caller
  // touches no shared counter), so whether a value was shared is also judged where it lands.
  test.each([
    [2, true],
    [1, false],
  ])(
    "the leader's own caller leaves; a thread with %i do() callers gets the value, shared: %s",
    async (callers, shared) => {
      const { shared: memory, counters } = sharedCounters();
      const name = uniqueName('do-shared');
      const sf = new Singleflight({ name });
      const controller = new AbortController();
      let open;
      const mine = sf.execute('hot', () => new Promise((resolve) => (open = resolve)), { signal: controller.signal });
      const worker = startWorker({ scenario: 'doCallers', name, shared: memory, id: 'W', callers });
      await worker.next('waiting');
      await eventually(() => sf.getStats().totalSubscribers === 1 + callers);
      controller.abort();
      await expect(mine).rejects.toMatchObject({ name: 'AbortError' });
      expect(sf.getStats().totalSubscribers).toBe(callers);
      expect(sf.isInFlight('hot')).toBe(true); // the worker's callers still wait
      open({ v: 1 });
      const done = await worker.next('done');
      expect(done.outcomes).toEqual(Array.from({ length: callers }, () => ({ value: { v: 1 }, shared })));
      expect(Atomics.load(counters, 0)).toBe(0);
    },
  );

  test('forget() in one thread: new callers in other threads start afresh', async () => {
    await expectFreshFlightElsewhereAfter('forget', (sf) => expect(sf.forget('hot')).toBe(true));
  });
});
