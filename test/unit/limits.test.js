const { Singleflight, TooManySubscribersError, FlightTimeoutError } = require('../..');
const { deferred, sleep, flushMicrotasks } = require('./helpers');

describe('maxSubscribers', () => {
  test('callers beyond the limit (leader included) are refused at once; the others are served', async () => {
    const sf = new Singleflight({ maxSubscribers: 3 });
    const gate = deferred();
    let runs = 0;
    const work = async () => {
      runs += 1;
      return gate.promise;
    };
    const calls = Array.from({ length: 5 }, () => sf.execute('user:7', work));
    const refused = await Promise.allSettled(calls.slice(3));
    for (const o of refused) {
      expect(o.status).toBe('rejected');
      expect(o.reason).toBeInstanceOf(TooManySubscribersError);
      expect(o.reason.code).toBe('ERR_TOO_MANY_SUBSCRIBERS');
      expect(o.reason.key).toBe('user:7');
      expect(o.reason.maxSubscribers).toBe(3);
      expect(o.reason.message).toContain('"user:7"');
    }
    expect(sf.getStats().totalSubscribers).toBe(3);
    gate.resolve('shared');
    await expect(Promise.all(calls.slice(0, 3))).resolves.toEqual(['shared', 'shared', 'shared']);
    expect(runs).toBe(1);
  });

  test('the limit applies per flight: a new flight has room again', async () => {
    const sf = new Singleflight({ maxSubscribers: 1 });
    await expect(sf.execute('k', async () => 1)).resolves.toBe(1);
    const gate = deferred();
    const first = sf.execute('k', () => gate.promise);
    await expect(sf.execute('k', () => 2)).rejects.toBeInstanceOf(TooManySubscribersError);
    await expect(sf.execute('other', async () => 3)).resolves.toBe(3);
    gate.resolve(4);
    await expect(first).resolves.toBe(4);
  });
});

describe('maxDuration', () => {
  test('a flight that runs too long rejects all its callers, aborts its signal and leaves the table', async () => {
    const sf = new Singleflight({ maxDuration: 60 });
    let signal;
    const never = new Promise(() => {});
    const calls = Array.from({ length: 4 }, () =>
      sf.execute('slow', (s) => {
        signal = s;
        return never;
      }),
    );
    const outcomes = await Promise.allSettled(calls);
    for (const o of outcomes) {
      expect(o.status).toBe('rejected');
      expect(o.reason).toBeInstanceOf(FlightTimeoutError);
      expect(o.reason.code).toBe('ERR_FLIGHT_TIMEOUT');
      expect(o.reason.key).toBe('slow');
      expect(o.reason.maxDuration).toBe(60);
    }
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(outcomes[0].reason);
    expect(sf.isInFlight('slow')).toBe(false);
    expect(sf.getStats()).toMatchObject({ inFlightCount: 0, totalSubscribers: 0, oldestCallAge: null });
  });

  test('after expiry the next caller starts afresh, and the late old result disturbs nothing', async () => {
    const sf = new Singleflight({ maxDuration: 50 });
    const oldGate = deferred();
    const old = sf.execute('k', () => oldGate.promise);
    await expect(old).rejects.toBeInstanceOf(FlightTimeoutError);

    const newGate = deferred();
    const fresh = sf.execute('k', () => newGate.promise);
    const joiner = sf.execute('k', () => 'must not run');
    oldGate.resolve('stale'); // the expired work finishes late
    await flushMicrotasks();
    expect(sf.isInFlight('k')).toBe(true);
    expect(sf.getStats().totalSubscribers).toBe(2);
    newGate.resolve('fresh');
    await expect(Promise.all([fresh, joiner])).resolves.toEqual(['fresh', 'fresh']);
    expect(sf.getInFlightCount()).toBe(0);
  });

  test('a late rejection of expired work is swallowed, not reported as unhandled', async () => {
    const sf = new Singleflight({ maxDuration: 30 });
    const gate = deferred();
    await expect(sf.execute('k', () => gate.promise)).rejects.toBeInstanceOf(FlightTimeoutError);
    gate.reject(new Error('late failure'));
    await flushMicrotasks();
    expect(sf.getInFlightCount()).toBe(0);
  });

  test('flights that finish in time are never expired', async () => {
    const sf = new Singleflight({ maxDuration: 80 });
    for (let i = 0; i < 5; i++) {
      await expect(sf.execute('quick', async () => (await sleep(20), i))).resolves.toBe(i);
    }
  });

  test('no timer is created per flight', async () => {
    const sf = new Singleflight({ maxDuration: 10_000 });
    const spy = jest.spyOn(global, 'setTimeout');
    try {
      const gate = deferred();
      const calls = Array.from({ length: 200 }, (_, i) => sf.execute(`key:${i}`, () => gate.promise));
      gate.resolve('done');
      await Promise.all(calls);
      for (let i = 0; i < 200; i++) await sf.execute(`again:${i}`, async () => i);
      expect(spy.mock.calls.length).toBe(1); // the instance's one expiry timer
    } finally {
      spy.mockRestore();
    }
  });

  test('Infinity disables expiry', async () => {
    const sf = new Singleflight({ maxDuration: Infinity });
    const gate = deferred();
    const call = sf.execute('k', () => gate.promise);
    await sleep(30);
    expect(sf.isInFlight('k')).toBe(true);
    gate.resolve(1);
    await expect(call).resolves.toBe(1);
  });
});
