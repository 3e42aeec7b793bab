// The fault matrix: every way a flight can go wrong — its work failing, threads dying around
// it, the process exiting under it, flights expiring under load — with real worker_threads and
// real child processes. Each case checks that nothing crashes, that every promise settles
// (with the value, the work's error, or a typed error with a `code`), and that the table is
// empty afterwards, seen from the main thread and from a surviving worker.
//
// Every wait has a deadline (`within`, `settleAll`, `next`, `eventually`, spawnSync's timeout),
// so a hang fails its case instead of stalling Jest.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { Singleflight } = require('../..');
const { sharedCounters, eventually, uniqueName, sleep, leadHere } = require('../threads/helpers');
const { startFaultWorker, within, settleAll, seededRandom } = require('./helpers');

const FIXTURES = path.join(__dirname, 'fixtures');
const SETTLE_MS = 15_000;

/** The table of `sf` holds nothing, seen from this thread and from each surviving worker. */
async function expectEmpty(sf, survivors = [], keys = ['hot']) {
  await eventually(() => sf.getStats().inFlightCount === 0 && sf.getStats().totalSubscribers === 0);
  expect(sf.getStats()).toMatchObject({ inFlightCount: 0, totalSubscribers: 0, oldestCallAge: null });
  for (const key of keys) expect(sf.isInFlight(key)).toBe(false);
  expect(sf.getInFlightCount()).toBe(0);
  for (const survivor of survivors) {
    for (const key of keys) {
      const view = await survivor.probe(key);
      expect(view).toMatchObject({ inFlight: false, count: 0, stats: { inFlightCount: 0, totalSubscribers: 0 } });
    }
  }
}

/** The next caller of `key` starts a fresh flight, whose work runs. */
async function expectFreshFlight(sf, key = 'hot') {
  let ran = false;
  await expect(
    within(
      sf.execute(key, async () => ((ran = true), 'fresh')),
      SETTLE_MS,
      'a fresh call',
    ),
  ).resolves.toBe('fresh');
  expect(ran).toBe(true);
}

const release = (counters) => {
  Atomics.store(counters, 2, 1);
  Atomics.notify(counters, 2);
};

// --- the work fails ------------------------------------------------------------------------

/**
 * A worker leads a flight whose work blocks that thread until everyone has joined, then fails
 * as `mode` says. Callers in this thread, in a waiting worker and in the leader's thread must
 * all get that error — class, message, code and own properties — and nobody may run the work
 * again.
 */
async function workFails(mode) {
  const { shared, counters } = sharedCounters();
  const name = uniqueName(`fails-${mode}`);
  const leader = startFaultWorker({ scenario: 'leadBlocked', name, shared, id: 'L', fail: mode });
  await eventually(() => Atomics.load(counters, 1) === 1); // the leader is inside its work
  const sf = new Singleflight({ name });
  expect(sf.isInFlight('hot')).toBe(true);
  const here = [1, 2, 3].map(() => sf.execute('hot', () => 'must not run'));
  const waiter = startFaultWorker({ scenario: 'wait', name, shared, id: 'W', callers: 3 });
  await waiter.next('waiting');
  await eventually(() => sf.getStats().totalSubscribers === 1 + 3 + 3);
  release(counters);

  const expected = { name: 'TypeError', message: `${mode} in L`, code: `E_${mode.toUpperCase()}` };
  for (const outcome of await settleAll(here, SETTLE_MS, 'callers in the main thread')) {
    expect(outcome.status).toBe('rejected');
    expect(outcome.reason).toMatchObject({ ...expected, detail: { by: 'L' } });
    expect(outcome.reason).toBeInstanceOf(Error);
  }
  const there = await waiter.next('done');
  const led = await leader.next('done');
  for (const { error } of [...there.outcomes, ...led.outcomes])
    expect(error).toMatchObject({ ...expected, isError: true });
  expect(there.outcomes).toHaveLength(3);
  expect(Atomics.load(counters, 0)).toBe(1); // the work ran once; the error was not retried
  await expectEmpty(sf, [waiter, leader]);
  await expectFreshFlight(sf); // errors are not cached
}

// --- threads die ---------------------------------------------------------------------------

/**
 * The leader's worker dies mid-flight (`kill` does it: terminate, or process.exit inside the
 * work). One waiting thread takes the flight over; every caller in every thread gets its value.
 */
async function leaderDies(scenario, kill) {
  const { shared, counters } = sharedCounters();
  const name = uniqueName('leader-dies');
  const leader = startFaultWorker({ scenario, name, shared, id: 'L', exitCode: 5 });
  await eventually(() => Atomics.load(counters, 0) === 1); // the leader's work is running
  const waiter = startFaultWorker({ scenario: 'wait', name, shared, id: 'W', callers: 3 });
  await waiter.next('waiting');
  const sf = new Singleflight({ name });
  const here = [1, 2].map(() =>
    sf.execute('hot', async () => (Atomics.add(counters, 0, 1), await sleep(20), { by: 'main' })),
  );
  await eventually(() => sf.getStats().totalSubscribers === 1 + 3 + 2);

  const exitCode = await kill(leader);
  const mine = await settleAll(here, SETTLE_MS, 'callers in the main thread');
  const theirs = (await waiter.next('done')).outcomes;
  expect(mine.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
  expect(theirs.every((o) => o.value !== undefined)).toBe(true);
  const values = [...mine.map((o) => o.value), ...theirs.map((o) => o.value)];
  expect(new Set(values.map((v) => v.by)).size).toBe(1); // one thread took over, for everyone
  expect(['main', 'W']).toContain(values[0].by);
  expect(Atomics.load(counters, 0)).toBe(2); // the dead leader's run and exactly one after it
  await expectEmpty(sf, [waiter]);
  await expectFreshFlight(sf);
  return exitCode;
}

/** A waiting worker is terminated: its callers leave the count, the others get the value. */
async function waiterDies() {
  const { shared, counters } = sharedCounters();
  const name = uniqueName('waiter-dies');
  const sf = new Singleflight({ name });
  const lead = leadHere(sf);
  const doomed = startFaultWorker({ scenario: 'wait', name, shared, id: 'D', callers: 5 });
  const survivor = startFaultWorker({ scenario: 'wait', name, shared, id: 'S', callers: 2 });
  await Promise.all([doomed.next('waiting'), survivor.next('waiting')]);
  await eventually(() => sf.getStats().totalSubscribers === 1 + 5 + 2);
  await doomed.worker.terminate();
  await eventually(() => sf.getStats().totalSubscribers === 1 + 2);
  expect(sf.isInFlight('hot')).toBe(true);
  lead.open({ from: 'main' });
  await expect(within(lead.result, SETTLE_MS, 'the leader')).resolves.toEqual({ from: 'main' });
  expect((await survivor.next('done')).outcomes).toEqual([{ value: { from: 'main' } }, { value: { from: 'main' } }]);
  expect(Atomics.load(counters, 0)).toBe(0); // nobody else ran the work
  await expectEmpty(sf, [survivor]);
  await expectFreshFlight(sf);
}

/**
 * 50 short-lived workers lead forever, wait, or call in a loop around one hot key and are
 * terminated at (seeded) random moments — some before they even start — while this thread
 * and two surviving workers keep calling. With maxDuration Infinity, no expiry can rescue a
 * stuck caller: every caller must get a value through hand-overs alone.
 */
async function storm() {
  const seed = Number(process.env.FAULT_SEED ?? 20240601);
  const random = seededRandom(seed);
  const { shared } = sharedCounters();
  const name = uniqueName('storm');
  const options = { maxDuration: Infinity };
  const sf = new Singleflight({ name, ...options });
  const survivors = [0, 1].map((i) =>
    startFaultWorker({ scenario: 'keepCalling', name, shared, id: `S${i}`, options, workMs: 5 }),
  );
  const mine = [];
  const kills = [];
  const roles = ['leader', 'waiter', 'caller'];
  for (let i = 0; i < 50; i++) {
    const doomed = startFaultWorker({
      scenario: 'storm',
      name,
      shared,
      id: `D${i}`,
      role: roles[i % 3],
      options,
      workMs: 5,
    });
    // One in five dies at once, maybe before it loaded anything; the others once they are in
    // the thick of it (leading, waiting or calling), after a random while.
    const start = i % 5 === 0 ? Promise.resolve() : doomed.next('started', SETTLE_MS);
    kills.push(start.then(() => sleep(random() * 40)).then(() => doomed.worker.terminate()));
    mine.push(sf.execute('hot', async () => (await sleep(5), { by: 'main' })));
    await sleep(random() * 20);
  }
  await within(Promise.all(kills), SETTLE_MS, 'terminating the storm');
  survivors.forEach((s) => s.worker.postMessage('release'));
  const outcomes = (await settleAll(mine, SETTLE_MS, `main-thread callers (seed ${seed})`)).map((o) =>
    o.status === 'fulfilled' ? { value: o.value } : { error: o.reason },
  );
  for (const s of survivors) outcomes.push(...(await s.next('done', SETTLE_MS)).outcomes);
  // Every caller got a value, except the survivors' callers whose own signal aborted.
  const failed = outcomes.filter((o) => o.value === undefined && o.error?.name !== 'AbortError');
  expect({ seed, failed }).toEqual({ seed, failed: [] });
  expect(outcomes.filter((o) => o.value !== undefined).every((o) => typeof o.value.by === 'string')).toBe(true);
  await expectEmpty(sf, survivors);
  await expectFreshFlight(sf);
}

// --- the process exits ---------------------------------------------------------------------

/** Runs a fixture in a child process; it must exit with `code` by itself: no signal, no abort. */
function runChild(script, args, code) {
  const child = spawnSync(process.execPath, [path.join(FIXTURES, script), ...args], {
    encoding: 'utf8',
    timeout: 20_000,
    killSignal: 'SIGKILL',
  });
  expect({ status: child.status, signal: child.signal, stderr: child.stderr }).toEqual({
    status: code,
    signal: null,
    stderr: '',
  });
  return child.stdout;
}

// --- maxDuration under load ----------------------------------------------------------------

/**
 * Three workers and this thread call 20 keys, 5 callers per key per thread, with work that
 * never settles. Each key's work runs once in the process; at maxDuration every caller
 * everywhere gets FlightTimeoutError, every work's signal aborts, the table empties, and the
 * next caller of each key starts afresh.
 */
async function expiryUnderLoad() {
  const KEYS = Array.from({ length: 20 }, (_, i) => `k${i}`);
  const CALLERS = 5;
  const options = { maxDuration: 2000 }; // room for four threads to join every key first, even on a loaded machine
  const { shared, counters } = sharedCounters();
  const name = uniqueName('expiry');
  const sf = new Singleflight({ name, ...options });
  const workers = [1, 2, 3].map((id) =>
    startFaultWorker({ scenario: 'expireUnderLoad', name, shared, id, options, keys: KEYS, callers: CALLERS }),
  );
  await eventually(() => Atomics.load(counters, 1) === workers.length);
  release(counters);
  let aborted = 0;
  const stuck = (signal) => {
    Atomics.add(counters, 0, 1);
    signal.addEventListener('abort', () => aborted++);
    return new Promise(() => {});
  };
  const here = KEYS.flatMap((key) => Array.from({ length: CALLERS }, () => sf.execute(key, stuck)));

  const outcomes = (await settleAll(here, SETTLE_MS, 'expiring callers in the main thread')).map((o, i) => ({
    key: KEYS[Math.floor(i / CALLERS)],
    error: o.reason,
  }));
  const reports = await Promise.all(workers.map((w) => w.next('expired', SETTLE_MS)));
  for (const r of reports) {
    outcomes.push(...r.outcomes.map((o, i) => ({ key: KEYS[Math.floor(i / CALLERS)], error: o.error })));
    aborted += r.aborted;
  }
  expect(outcomes).toHaveLength(KEYS.length * CALLERS * 4);
  for (const { key, error } of outcomes) {
    expect(error).toMatchObject({ name: 'FlightTimeoutError', code: 'ERR_FLIGHT_TIMEOUT', key });
  }
  expect(Atomics.load(counters, 0)).toBe(KEYS.length); // one execution per key in the process
  expect(aborted).toBe(KEYS.length); // and each of them was told to stop
  await expectEmpty(sf, workers, KEYS);

  // The next caller of each key starts afresh: here first, then in every worker.
  const fresh = await settleAll(
    KEYS.map((key) => sf.execute(key, async () => (Atomics.add(counters, 0, 1), { fresh: 'main' }))),
    SETTLE_MS,
    'fresh calls',
  );
  expect(fresh.map((o) => o.value)).toEqual(KEYS.map(() => ({ fresh: 'main' })));
  expect(Atomics.load(counters, 0)).toBe(2 * KEYS.length);
  workers.forEach((w) => w.worker.postMessage('release'));
  for (const w of workers) {
    const { outcomes: again } = await w.next('fresh', SETTLE_MS);
    for (const o of again) expect(o).toEqual({ value: { fresh: expect.anything() } });
  }
  await expectEmpty(sf, workers, KEYS);
}

// --- the matrix ----------------------------------------------------------------------------

const matrix = [
  ['work throws synchronously, with waiters in two other threads', () => workFails('throw')],
  ['work returns a rejected promise, with waiters in two other threads', () => workFails('reject')],
  ['work returns a thenable whose then() throws, with waiters in two other threads', () => workFails('thenable')],
  [
    "the leader's worker is terminated mid-flight",
    () => leaderDies('leadUntilTold', (leader) => leader.worker.terminate()),
  ],
  [
    "the leader's worker is terminated while its work blocks the thread synchronously",
    () => leaderDies('leadBlocked', (leader) => leader.worker.terminate()),
  ],
  [
    "process.exit() inside the leader worker's work, the main thread waiting on that flight",
    async () => {
      const code = await leaderDies(
        'leadUntilTold',
        (leader) => (leader.worker.postMessage('exit'), within(leader.exited, SETTLE_MS, 'the exit')),
      );
      expect(code).toBe(5);
    },
  ],
  ["a waiter's worker is terminated mid-flight", waiterDies],
  ['50 workers terminated at random moments around one hot key, survivors calling throughout', storm],
  [
    'process.exit() while this thread leads and two workers wait (child process)',
    () => runChild('exit-mid-flight.js', ['main-leads'], 7),
  ],
  [
    'process.exit() while a worker leads and this thread and a worker wait (child process)',
    () => runChild('exit-mid-flight.js', ['worker-leads'], 7),
  ],
  [
    'process.exit() from inside the work while workers wait (child process)',
    () => runChild('exit-mid-flight.js', ['exit-inside-work'], 7),
  ],
  [
    'process.exit() while the value is on its way to waiting workers (child process)',
    () => runChild('exit-mid-flight.js', ['exit-while-delivering'], 7),
  ],
  [
    'workers that alone load the addon, created and destroyed 50 times (child process)',
    () => expect(runChild('worker-only-churn.js', ['50'], 0).trim()).toBe('rounds=50 ok'),
  ],
  ['maxDuration expires under load: 4 threads × 20 keys × 5 callers, work that never settles', expiryUnderLoad],
];

describe('fault matrix', () => {
  test.each(matrix)('%s', async (_title, run) => {
    await run();
  });
});
