// Two copies of the JavaScript over one binding (jest.isolateModules), both following a flight
// led by a worker: the thread has two participants (two lanes) in the flight, with the same
// EnvId. FlightTable::leave (src/core/flight_table.cc:199-205) finds "the" participant of the
// leaving thread by env alone (find_if p.env == env), so when the SECOND copy's caller leaves,
// the FIRST copy's participant is removed: its lane's callers are taken off the total (and its
// lane cell freed while that copy still counts in it). The total drops to 0 while the first
// copy's caller still waits: the flight is declared abandoned, the leader's work is aborted,
// and the first copy's caller ends up running its own work instead of getting the value.
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { settle } = require('./helpers');

function startLeader(workerData) {
  const worker = new Worker(path.join(__dirname, 'fixtures', 'lead-worker.js'), { workerData });
  const seen = [];
  const waiters = [];
  worker.on('message', (m) => {
    seen.push(m);
    for (const w of waiters.filter((w) => w.type === m)) w.resolve(m);
  });
  const next = (type, ms = 5000) =>
    seen.includes(type) ? Promise.resolve(type) : settle(new Promise((resolve) => waiters.push({ type, resolve })), ms);
  return { worker, seen, next };
}

test("the second copy's caller leaving does not take the first copy's caller off the flight", async () => {
  const first = require('../../..');
  let second;
  jest.isolateModules(() => {
    second = require('../../..');
  });
  expect(second.Singleflight).not.toBe(first.Singleflight);
  const name = `double-leave-${process.pid}-${Date.now()}`;
  const leader = startLeader({ name, withSignal: true });
  try {
    await leader.next('leading');
    const a = new first.Singleflight({ name, maxDuration: 10_000 });
    const b = new second.Singleflight({ name, maxDuration: 10_000 });
    let aRanOwnWork = false;
    const fromFirst = a.execute('k', () => ((aRanOwnWork = true), { by: 'main-first' }));
    const leaving = new AbortController();
    const fromSecond = b.execute('k', () => ({ by: 'main-second' }), { signal: leaving.signal });
    fromSecond.catch(() => {});
    expect(a.getStats().totalSubscribers).toBe(3);

    leader.worker.postMessage('leave'); // the worker's own caller stops waiting
    await leader.next('left');
    leaving.abort(); // the second copy's caller stops waiting
    expect(a.getStats().totalSubscribers).toBe(1); // the first copy's caller; observed: 0

    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(leader.seen).not.toContain('workAborted'); // observed: the work was aborted
    leader.worker.postMessage('release');
    expect(await settle(fromFirst, 2000)).toEqual({ status: 'fulfilled', value: { by: 'worker' } });
    expect(aRanOwnWork).toBe(false); // observed: true (fallback to its own work)
  } finally {
    await leader.worker.terminate();
  }
});
