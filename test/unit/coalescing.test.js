const { Singleflight } = require('../..');
const { deferred, flushMicrotasks, loadCountingCrossings } = require('./helpers');

describe('coalescing', () => {
  test('concurrent callers of one key share one execution and the very same value', async () => {
    const sf = new Singleflight();
    const gate = deferred();
    let runs = 0;
    const work = async () => {
      runs += 1;
      await gate.promise;
      return { user: 123 };
    };
    const calls = Array.from({ length: 1000 }, () => sf.execute('user:123', work));
    gate.resolve();
    const results = await Promise.all(calls);
    expect(runs).toBe(1);
    expect(results[0]).toEqual({ user: 123 });
    for (const r of results) expect(r).toBe(results[0]);
  });

  test('different keys run independently and concurrently', async () => {
    const sf = new Singleflight();
    const gates = { a: deferred(), b: deferred() };
    const started = [];
    const pa = sf.execute('a', async () => (started.push('a'), gates.a.promise));
    const pb = sf.execute('b', async () => (started.push('b'), gates.b.promise));
    expect(started).toEqual(['a', 'b']);
    gates.b.resolve('B');
    gates.a.resolve('A');
    await expect(Promise.all([pa, pb])).resolves.toEqual(['A', 'B']);
  });

  test('a caller arriving after the flight settled starts a new execution', async () => {
    const sf = new Singleflight();
    let runs = 0;
    const work = async () => ++runs;
    await expect(sf.execute('k', work)).resolves.toBe(1);
    await expect(sf.execute('k', work)).resolves.toBe(2);
    expect(sf.isInFlight('k')).toBe(false);
  });

  test('a caller that arrives in the settling callback itself starts a new flight', async () => {
    const sf = new Singleflight();
    let runs = 0;
    const work = async () => ++runs;
    const second = sf.execute('k', work).then(() => sf.execute('k', work));
    await expect(second).resolves.toBe(2);
  });

  test('synchronous work settles at once and is not cached', async () => {
    const sf = new Singleflight();
    let runs = 0;
    await expect(sf.execute('k', () => ++runs)).resolves.toBe(1);
    await expect(sf.execute('k', () => ++runs)).resolves.toBe(2);
    expect(sf.getInFlightCount()).toBe(0);
  });

  test.each([
    ['0', 0],
    ['empty string', ''],
    ['null', null],
    ['undefined', undefined],
    ['false', false],
    ['NaN', NaN],
  ])('a falsy result (%s) is shared like any other', async (_label, value) => {
    const sf = new Singleflight();
    const gate = deferred();
    let runs = 0;
    const calls = Array.from({ length: 5 }, () =>
      sf.execute('falsy', async () => {
        runs += 1;
        await gate.promise;
        return value;
      }),
    );
    gate.resolve();
    const results = await Promise.all(calls);
    expect(runs).toBe(1);
    for (const r of results) expect(Object.is(r, value)).toBe(true);
  });

  test('duplicate callers in the same thread never cross into C++: one join and one settle for 500 callers', async () => {
    const { threadflight, crossings } = loadCountingCrossings();
    const sf = new threadflight.Singleflight({ name: 'coalescing-no-crossing' });
    const gate = deferred();
    const calls = Array.from({ length: 500 }, () => sf.execute('hot', () => gate.promise));
    expect(crossings).toEqual({ join: 1 });
    gate.resolve('v');
    await expect(Promise.all(calls)).resolves.toEqual(Array(500).fill('v'));
    expect(crossings).toEqual({ join: 1, settle: 1 });
  });

  test('thenables that are not native promises are followed', async () => {
    const sf = new Singleflight();
    const thenable = { then: (resolve) => setImmediate(() => resolve('from thenable')) };
    const calls = [sf.execute('t', () => thenable), sf.execute('t', () => thenable)];
    await expect(Promise.all(calls)).resolves.toEqual(['from thenable', 'from thenable']);
  });

  test('work receives an AbortSignal when it declares a parameter', async () => {
    const sf = new Singleflight();
    let received;
    await sf.execute('s', (signal) => {
      received = signal;
      return 1;
    });
    expect(received).toBeInstanceOf(AbortSignal);
    expect(received.aborted).toBe(false);
  });

  test('two unnamed instances never share a key', async () => {
    const a = new Singleflight();
    const b = new Singleflight();
    const gate = deferred();
    let runs = 0;
    const work = async () => {
      runs += 1;
      return gate.promise;
    };
    const calls = [a.execute('same', work), b.execute('same', work)];
    expect(a.isInFlight('same')).toBe(true);
    expect(b.isInFlight('same')).toBe(true);
    gate.resolve('x');
    await Promise.all(calls);
    expect(runs).toBe(2);
  });

  test('keys are compared exactly: NUL bytes, unicode forms and lone surrogates stay apart', async () => {
    const sf = new Singleflight();
    const keys = [
      'a\u0000b',
      'a\u0000c',
      'a',
      'caf\u00e9', // NFC
      'cafe\u0301', // NFD of the same text
      '\ud800', // two lone surrogates: both would become U+FFFD in UTF-8
      '\udbff',
      '',
    ];
    const gate = deferred();
    const calls = keys.map((key) => sf.execute(key, async () => (await gate.promise, key)));
    expect(sf.getInFlightCount()).toBe(keys.length);
    gate.resolve();
    const results = await Promise.all(calls);
    expect(results).toEqual(keys);
    expect(sf.getInFlightCount()).toBe(0);
  });

  test('long keys (beyond any inline buffer) work and are compared whole', async () => {
    const sf = new Singleflight();
    const base = 'x'.repeat(5000);
    const gate = deferred();
    const p1 = sf.execute(base + '1', () => gate.promise.then(() => 1));
    const p2 = sf.execute(base + '2', () => gate.promise.then(() => 2));
    const p1b = sf.execute(base + '1', () => 99);
    expect(sf.getInFlightCount()).toBe(2);
    gate.resolve();
    await expect(Promise.all([p1, p2, p1b])).resolves.toEqual([1, 2, 1]);
    await flushMicrotasks();
    expect(sf.getInFlightCount()).toBe(0);
  });
});
