// Defect 7: the package's JavaScript loaded a second time in one thread over the same native
// binding (what Jest's module registry does: JavaScript evaluated anew, the `.node` file loaded
// once per thread by Node). A flight led by a worker and awaited by a caller of the FIRST copy
// must still deliver the worker's value to that caller; a hand-over must still reach it; and
// the first copy's leader must still hear that every caller left. Child processes
// (fixtures/double-load.js), plus one in-process run through jest.isolateModules.
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { runScenario, cleanResult } = require('./helpers');

function expectBothDelivered(result) {
  expect(result.distinctCopies).toBe(true);
  expect(result.subscribers).toBe(3);
  expect(result.first).toEqual({ status: 'fulfilled', value: { by: 'worker' } });
  expect(result.second).toEqual({ status: 'fulfilled', value: { by: 'worker' } });
  expect(result.free).toEqual({ isInFlight: false, inFlightCount: 0 });
}

// Defect 7 guard (passes today): every entry deleted, the `.node` included, so Node loads the
// binding anew and each copy has its own bridge.
test.each(['load-then-wait-all-entries', 'wait-then-load-all-entries'])(
  '%s: both copies get the worker value',
  (scenario) => {
    expectBothDelivered(cleanResult(runScenario('double-load.js', scenario)));
  },
);

// Defect 7: the JavaScript deleted from require.cache and loaded again, the binding kept (as in
// Jest); before or after the first copy's caller joined. Today the first copy's caller hangs.
test.each(['load-then-wait-binding-kept', 'wait-then-load-binding-kept'])(
  '%s: both copies get the worker value',
  (scenario) => {
    expectBothDelivered(cleanResult(runScenario('double-load.js', scenario)));
  },
);

// Sibling of defect 7: the leader worker is terminated; the first copy's waiting caller must
// take the flight over and run its own work (today the hand-over goes to the second copy's
// handler, which knows nothing of it: the caller hangs until maxDuration).
test('hand-over to a caller of the first copy after the second copy was loaded', () => {
  const result = cleanResult(runScenario('double-load.js', 'handover-binding-kept'));
  expect(result.outcome).toEqual({ status: 'fulfilled', value: { by: 'main-first' } });
  expect(result.ranOwnWork).toBe(true);
});

// Sibling of defect 7: the first copy leads; its caller and a worker's caller both leave; the
// work's own signal must abort (today the "abandoned" message goes to the second copy).
test('a flight led by the first copy is aborted when every caller in every thread left', () => {
  const result = cleanResult(runScenario('double-load.js', 'abandon-binding-kept'));
  expect(result.subscribersWhenJoined).toBe(2);
  expect(result.workAborted).toBe(true);
  expect(result.free).toEqual({ isInFlight: false, inFlightCount: 0 });
});

/** Rejects unless `promise` settles within `ms`. */
function within(promise, ms, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

// Defect 7 through Jest's own registry: a second copy from jest.isolateModules; the first
// copy's caller must get the worker's value (runs in this Jest process; nothing here can
// crash it, and every wait has a deadline).
test('jest.isolateModules: a caller of the first copy still gets the worker value', async () => {
  const first = require('../..');
  let second;
  jest.isolateModules(() => {
    second = require('../..');
  });
  expect(second.Singleflight).not.toBe(first.Singleflight);
  const name = `isolate-${process.pid}-${Date.now()}`;
  const worker = new Worker(path.join(__dirname, 'fixtures', 'double-load.js'), {
    workerData: { role: 'leadUntilTold', name },
  });
  try {
    const leading = new Promise((resolve) => worker.on('message', (m) => m.type === 'leading' && resolve(m)));
    await within(leading, 5000, 'the worker leading');
    const a = new first.Singleflight({ name, maxDuration: 3000 });
    const b = new second.Singleflight({ name, maxDuration: 3000 });
    const fromFirst = a.execute('k', () => ({ by: 'main-first' }));
    const fromSecond = b.execute('k', () => ({ by: 'main-second' }));
    fromFirst.catch(() => {});
    fromSecond.catch(() => {});
    worker.postMessage('release');
    await expect(within(fromSecond, 2000, 'the second copy caller')).resolves.toEqual({ by: 'worker' });
    await expect(within(fromFirst, 2000, 'the first copy caller')).resolves.toEqual({ by: 'worker' });
  } finally {
    await worker.terminate();
  }
});
