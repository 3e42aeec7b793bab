const { Singleflight } = require('../..');
const { deferred } = require('./helpers');

describe('errors from work', () => {
  test('an async rejection reaches every caller of the flight, and is not cached', async () => {
    const sf = new Singleflight();
    const gate = deferred();
    let runs = 0;
    const failure = new Error('database down');
    const work = async () => {
      runs += 1;
      await gate.promise;
      throw failure;
    };
    const calls = Array.from({ length: 10 }, () => sf.execute('q', work));
    gate.resolve();
    const outcomes = await Promise.allSettled(calls);
    for (const o of outcomes) {
      expect(o.status).toBe('rejected');
      expect(o.reason).toBe(failure);
    }
    expect(runs).toBe(1);
    expect(sf.isInFlight('q')).toBe(false);
    await expect(sf.execute('q', async () => 'recovered')).resolves.toBe('recovered');
  });

  test('a synchronous throw reaches every caller and clears the entry', async () => {
    const sf = new Singleflight();
    const failure = new TypeError('bad row');
    await expect(
      sf.execute('sync', () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(sf.getStats().inFlightCount).toBe(0);
    await expect(sf.execute('sync', () => 'ok')).resolves.toBe('ok');
  });

  test.each([
    ['a string', 'plain string'],
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['an object', { reason: 'custom' }],
  ])('any thrown value (%s) is delivered as is', async (_label, thrown) => {
    const sf = new Singleflight();
    const gate = deferred();
    const calls = [1, 2, 3].map(() =>
      sf.execute('v', async () => {
        await gate.promise;
        throw thrown;
      }),
    );
    gate.resolve();
    for (const o of await Promise.allSettled(calls)) {
      expect(o.status).toBe('rejected');
      expect(o.reason).toBe(thrown);
    }
  });

  test('a thenable whose then() throws rejects the flight', async () => {
    const sf = new Singleflight();
    const failure = new Error('broken thenable');
    const thenable = {
      then() {
        throw failure;
      },
    };
    await expect(sf.execute('t', () => thenable)).rejects.toBe(failure);
    expect(sf.isInFlight('t')).toBe(false);
  });
});
