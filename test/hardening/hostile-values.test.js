// Defect 1 and its siblings: work whose result is hostile to the Promise resolution procedure
// (an object whose `then` getter throws, a revoked Proxy, a Proxy whose get trap throws, a
// native promise whose `constructor` getter throws).
// Expected: execute() returns a promise rejected with the error reading `then` threw, the key
// is free at once, and nothing surfaces later (maxDuration 50 ms, waited past) — no
// unhandledRejection, exit code 0. Each run is a child process (fixtures/hostile-values.js).
const { runScenario, cleanResult } = require('./helpers');

const FREE = { isInFlight: false, inFlightCount: 0 };

function expectRejectedAndFree(result) {
  expect(result.outcome).toBe('rejected'); // not 'threw-synchronously'
  expect(result.expectedReason).toBe(true);
  expect(result.keyFreeAtOnce).toEqual(FREE);
  expect(result.next).toEqual({ status: 'fulfilled', value: 'fresh' });
  expect(result.keyFreeAtEnd).toEqual(FREE);
}

const variants = [];
// 'promise-constructor-getter' is a sibling: a native promise whose `constructor` getter throws.
for (const kind of ['then-getter', 'revoked-proxy', 'proxy-get-trap', 'promise-constructor-getter']) {
  for (const named of ['unnamed', 'named']) {
    for (const signal of ['', '-signal']) variants.push(`return-${kind}-${named}${signal}`);
  }
}

describe('work returns a value whose `then` cannot be read', () => {
  // Defect 1 (and its Proxy siblings): rejected, not thrown; key freed; no unhandled FlightTimeoutError later.
  test.each(variants)('%s', (scenario) => {
    expectRejectedAndFree(cleanResult(runScenario('hostile-values.js', scenario)));
  });

  // Defect 1 through do(): the same promise contract.
  test('do() with a then-getter result rejects, frees the key, no unhandledRejection', () => {
    expectRejectedAndFree(cleanResult(runScenario('hostile-values.js', 'do-then-getter')));
  });
});

describe('a thread takes a flight over and its own work returns such a value', () => {
  // Defect 1 through a hand-over: the leader worker is terminated; the waiting thread's work
  // returns the hostile value. Today the error escapes the bridge and crashes the process.
  test.each(['handover-then-getter', 'handover-revoked-proxy', 'handover-promise-constructor-getter'])(
    '%s',
    (scenario) => {
      const result = cleanResult(runScenario('hostile-values.js', scenario));
      expect(result.joined).toBe(2);
      expect(result.ranOwnWork).toBe(true);
      expectRejectedAndFree(result);
    },
  );

  // Sibling of defect 1: the leader's value cannot be cloned (a function), so the waiting
  // thread runs its own work solo, and that returns the hostile value. Today: process crash.
  test('solo run after an uncloneable value: own work returns a then-getter value', () => {
    const result = cleanResult(runScenario('hostile-values.js', 'solo-then-getter'));
    expect(result.joined).toBe(2);
    expect(result.ranOwnWork).toBe(true);
    expectRejectedAndFree(result);
  });
});

// Defect 1 across threads: the leader's work returns the then-getter value while a worker
// waits. The leader's caller is rejected with the getter's error; the worker's caller settles
// well before maxDuration (an Error with that message, or its own work). Today: execute()
// throws in the leader's thread and the worker waits for maxDuration.
test('the leader returns a then-getter value while a worker waits: both settle at once', () => {
  const result = cleanResult(runScenario('hostile-values.js', 'cross-thread-then-getter'));
  expect(result.outcome).toBe('rejected');
  expect(result.expectedReason).toBe(true);
  if (result.remote.status === 'fulfilled') expect(result.remote.value).toEqual({ by: 'worker' });
  else
    expect(result.remote).toMatchObject({
      status: 'rejected',
      reason: { isError: true, message: 'the then getter threw' },
    });
  expect(result.view).toEqual(FREE);
});

// Guard (passes today): thenables that call back twice, resolve then reject, resolve to a
// hostile thenable or a revoked Proxy, and work whose `length` getter throws all settle like a
// native promise and leave the key free.
test('misbehaving thenables and work functions settle as the Promise resolution procedure says', () => {
  const result = cleanResult(runScenario('hostile-values.js', 'guards'));
  expect(result).toMatchObject({
    twiceResolve: { status: 'fulfilled', value: 'a', free: true },
    resolveThenReject: { status: 'fulfilled', value: 'a', free: true },
    rejectThenThrow: { status: 'rejected', isE1: true, free: true },
    toHostileThenable: { status: 'rejected', isE1: true, free: true },
    toRevokedProxy: { status: 'rejected', reason: { name: 'TypeError' }, free: true },
    asyncReturnsHostile: { status: 'rejected', isE1: true, free: true },
    lengthGetter: { free: true },
    proxyFunction: { free: true },
    inFlightCount: 0,
  });
  expect(['rejected', 'fulfilled']).toContain(result.lengthGetter.status);
  expect(['rejected', 'fulfilled']).toContain(result.proxyFunction.status);
});
