const { Singleflight, FlightTimeoutError } = require('../..');
const { deferred, sleep, flushMicrotasks } = require('./helpers');

describe('stats and queries', () => {
  test('getStats counts flights, callers (leaders included) and the oldest age', async () => {
    const sf = new Singleflight();
    expect(sf.getStats()).toMatchObject({ inFlightCount: 0, totalSubscribers: 0, oldestCallAge: null });
    const gate = deferred();
    const calls = [
      sf.execute('a', () => gate.promise),
      sf.execute('a', () => gate.promise),
      sf.execute('a', () => gate.promise),
      sf.execute('b', () => gate.promise),
    ];
    await sleep(40);
    const stats = sf.getStats();
    expect(stats.inFlightCount).toBe(2);
    expect(stats.totalSubscribers).toBe(4);
    expect(stats.oldestCallAge).toBeGreaterThanOrEqual(20); // the core clock is coarse (a few ms)
    expect(sf.getInFlightCount()).toBe(2);
    expect(sf.isInFlight('a')).toBe(true);
    expect(sf.isInFlight('c')).toBe(false);
    gate.resolve();
    await Promise.all(calls);
    expect(sf.getStats()).toMatchObject({ inFlightCount: 0, totalSubscribers: 0, oldestCallAge: null });
  });

  test('isInFlight rejects a non-string key and answers false for an over-long one', () => {
    const sf = new Singleflight();
    expect(() => sf.isInFlight(1)).toThrow(TypeError);
    expect(sf.isInFlight('x'.repeat(70_000))).toBe(false);
  });
});

describe('clear()', () => {
  test('new callers start afresh; callers already waiting get the flight they joined', async () => {
    const sf = new Singleflight();
    const oldGate = deferred();
    const early = [sf.execute('k', () => oldGate.promise), sf.execute('k', () => oldGate.promise)];
    sf.clear();
    expect(sf.isInFlight('k')).toBe(false);
    expect(sf.getStats().inFlightCount).toBe(0);

    const newGate = deferred();
    const late = [sf.execute('k', () => newGate.promise), sf.execute('k', () => 'must not run')];
    oldGate.resolve('old');
    await expect(Promise.all(early)).resolves.toEqual(['old', 'old']);
    expect(sf.isInFlight('k')).toBe(true); // the old flight settling left the new one alone
    newGate.resolve('new');
    await expect(Promise.all(late)).resolves.toEqual(['new', 'new']);
    expect(sf.getInFlightCount()).toBe(0);
  });

  test('a flight detached by clear() still expires at maxDuration', async () => {
    const sf = new Singleflight({ maxDuration: 40 });
    const waiting = sf.execute('k', () => new Promise(() => {}));
    sf.clear();
    await expect(waiting).rejects.toBeInstanceOf(FlightTimeoutError);
    await flushMicrotasks();
    expect(sf.getStats().inFlightCount).toBe(0);
  });
});
