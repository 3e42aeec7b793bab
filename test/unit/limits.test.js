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

  test('a forgotten or cleared flight still expires, with the flights started after it', async () => {
    // Out of its table, a flight of an unnamed instance is found for expiry by its slot alone.
    const sf = new Singleflight({ maxDuration: 60 });
    const never = () => new Promise(() => {});
    const signals = [];
    const stuck = (s) => (signals.push(s), never());
    const forgotten = sf.execute('a', stuck);
    expect(sf.forget('a')).toBe(true);
    const successor = sf.execute('a', stuck); // a new flight for the key, in the same slot
    const cleared = [sf.execute('b', stuck), sf.execute('c', stuck)];
    sf.clear();
    const afterClear = sf.execute('b', stuck);
    const outcomes = await Promise.allSettled([forgotten, successor, ...cleared, afterClear]);
    for (const o of outcomes) {
      expect(o.status).toBe('rejected');
      expect(o.reason).toBeInstanceOf(FlightTimeoutError);
    }
    expect(signals).toHaveLength(5);
    for (const signal of signals) expect(signal.aborted).toBe(true);
    expect(sf.getStats()).toMatchObject({ inFlightCount: 0, totalSubscribers: 0, timeouts: 5 });
  });

  test('a named flight made unjoinable elsewhere, then replaced here, still expires', async () => {
    // Another copy of the package (an app's other thread, here Jest's second module registry)
    // forgets the key of a flight this copy leads; the next caller here starts a flight in its
    // place. The first flight is no longer in this copy's table, and must expire all the same.
    const name = `replaced-elsewhere-${process.pid}`;
    const sf = new Singleflight({ name, maxDuration: 60 });
    let other;
    jest.isolateModules(() => {
      other = require('../..');
    });
    expect(other.Singleflight).not.toBe(Singleflight);
    const never = () => new Promise(() => {});
    const first = sf.execute('k', never);
    expect(new other.Singleflight({ name, maxDuration: 60 }).forget('k')).toBe(true);
    const second = sf.execute('k', never);
    const outcomes = await Promise.allSettled([first, second]);
    for (const o of outcomes) {
      expect(o.status).toBe('rejected');
      expect(o.reason).toBeInstanceOf(FlightTimeoutError);
    }
    expect(sf.getStats()).toMatchObject({ inFlightCount: 0, timeouts: 2 });
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
    const sf = new Singleflight({ maxDuration: 1000 }); // far above the work's 20 ms, even on a loaded machine
    for (let i = 0; i < 5; i++) {
      await expect(sf.execute('quick', async () => (await sleep(20), i))).resolves.toBe(i);
    }
  });

  test('no timer is created per flight', async () => {
    const sf = new Singleflight({ maxDuration: 10_000 }); // stamp period: 100 ms
    const spy = jest.spyOn(global, 'setTimeout');
    try {
      const started = performance.now();
      const gate = deferred();
      const calls = Array.from({ length: 200 }, (_, i) => sf.execute(`key:${i}`, () => gate.promise));
      gate.resolve('done');
      await Promise.all(calls);
      for (let i = 0; i < 200; i++) await sf.execute(`again:${i}`, async () => i);
      const periods = Math.ceil((performance.now() - started) / 100) + 1;
      // The thread's one expiry timer, armed at most twice per stamp period (and an idle check
      // per turn of the event loop): never once per flight.
      expect(spy.mock.calls.length).toBeLessThanOrEqual(2 * periods);
    } finally {
      spy.mockRestore();
    }
  });

  test('flights started between two clock readings still get their whole maxDuration', async () => {
    // maxDuration 400 ms: the instance reads the clock at most every 40 ms and stamps the
    // flights started in between at its next reading. Starts 15 ms apart put most flights in
    // between; stamping one with an earlier reading would expire it 15–30 ms early.
    const sf = new Singleflight({ maxDuration: 400 });
    const startedAt = [];
    const endedAt = [];
    const calls = [];
    for (let i = 0; i < 6; i++) {
      startedAt.push(performance.now());
      calls.push(
        sf
          .execute(`slow:${i}`, () => new Promise(() => {}))
          .catch((error) => {
            endedAt[i] = performance.now();
            return error;
          }),
      );
      await sleep(15);
    }
    const errors = await Promise.all(calls);
    for (let i = 0; i < 6; i++) {
      expect(errors[i]).toBeInstanceOf(FlightTimeoutError);
      // Allowance: the core's clock ticks coarsely (1–10 ms, by kernel).
      expect(endedAt[i] - startedAt[i]).toBeGreaterThanOrEqual(400 - 11);
    }
    expect(sf.getStats()).toMatchObject({ inFlightCount: 0, totalSubscribers: 0, oldestCallAge: null });
  });

  test("getStats counts an unnamed flight from its stamp period's clock reading, never younger", async () => {
    // An unnamed instance reads the clock once per stamp period (100 ms here) and stamps the
    // flights started in it with that reading: a flight's age is never below its real age, and
    // above it by at most the time since the reading.
    const sf = new Singleflight({ maxDuration: 10_000 });
    const before = performance.now();
    await sf.execute('first', () => 'read the clock'); // opens the stamp period
    const gate = deferred();
    const second = sf.execute('second', () => gate.promise); // stamped with the same reading
    try {
      const sinceBefore = () => performance.now() - before;
      const early = sf.getStats();
      expect(early.inFlightCount).toBe(1);
      expect(early.oldestCallAge).toBeLessThanOrEqual(Math.ceil(sinceBefore()) + 11); // + a coarse clock tick
      const started = performance.now();
      await sleep(250);
      const age = sf.getStats().oldestCallAge;
      expect(age).toBeGreaterThanOrEqual(Math.floor(performance.now() - started) - 11);
      expect(age).toBeLessThanOrEqual(Math.ceil(sinceBefore()) + 11);
    } finally {
      gate.resolve(1);
      await second;
    }
    expect(sf.getStats().oldestCallAge).toBeNull();
  });

  test.each([
    ['in the table', false],
    ['made unjoinable by clear()', true],
  ])('a flight started by an abort listener while another expires (%s) still expires', async (_label, clear) => {
    // The sweep that expires the first flight runs its signal's listeners; a flight started
    // there must get its own deadline, not be lost by the sweep that is still running.
    const sf = new Singleflight({ maxDuration: 100 });
    let startedInListener;
    let second;
    const first = sf.execute('first', (signal) => {
      signal.addEventListener('abort', () => {
        startedInListener = performance.now();
        second = sf.execute('second', () => new Promise(() => {}));
      });
      return new Promise(() => {});
    });
    if (clear) sf.clear();
    await expect(first).rejects.toBeInstanceOf(FlightTimeoutError);
    const hangGuard = sleep(5_000).then(() => 'still pending after 5 s');
    const outcome = await Promise.race([
      second.then(
        () => 'resolved',
        (error) => error,
      ),
      hangGuard,
    ]);
    expect(outcome).toBeInstanceOf(FlightTimeoutError);
    expect(performance.now() - startedInListener).toBeGreaterThanOrEqual(100 - 11);
    expect(sf.getStats().inFlightCount).toBe(0);
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
