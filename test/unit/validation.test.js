const { Singleflight, MAX_KEY_LENGTH } = require('../..');

describe('bad input is refused at the call site', () => {
  const sf = new Singleflight();

  test.each([
    ['a number', 42],
    ['undefined', undefined],
    ['null', null],
    ['an object', { id: 1 }],
    ['a symbol', Symbol('k')],
  ])('execute with %s as key throws TypeError naming the key', (_label, key) => {
    expect(() => sf.execute(key, () => 1)).toThrow(TypeError);
    expect(() => sf.execute(key, () => 1)).toThrow(/key must be a string/);
  });

  test.each([
    ['undefined', undefined],
    ['a promise', Promise.resolve(1)],
    ['a string', 'work'],
  ])('execute with %s as work throws TypeError naming work', (_label, work) => {
    expect(() => sf.execute('k', work)).toThrow(/work must be a function/);
  });

  test('a key longer than MAX_KEY_LENGTH is a RangeError; one at the limit works', async () => {
    expect(() => sf.execute('k'.repeat(MAX_KEY_LENGTH + 1), () => 1)).toThrow(RangeError);
    expect(() => sf.execute('k'.repeat(MAX_KEY_LENGTH + 1), () => 1)).toThrow(/MAX_KEY_LENGTH/);
    await expect(sf.execute('k'.repeat(MAX_KEY_LENGTH), () => 'fits')).resolves.toBe('fits');
  });
});

describe('constructor options', () => {
  test('defaults', () => {
    const sf = new Singleflight();
    expect(sf.maxSubscribers).toBe(Infinity);
    expect(sf.maxDuration).toBe(30_000);
    expect(sf.name).toBeUndefined();
    const named = new Singleflight({ maxSubscribers: 10, maxDuration: 500, name: 'users' });
    expect([named.maxSubscribers, named.maxDuration, named.name]).toEqual([10, 500, 'users']);
  });

  test.each([
    [{ maxSubscribers: '3' }, TypeError, /"maxSubscribers" must be a number/],
    [{ maxSubscribers: 0 }, RangeError, /"maxSubscribers" must be an integer/],
    [{ maxSubscribers: -1 }, RangeError, /"maxSubscribers"/],
    [{ maxSubscribers: 1.5 }, RangeError, /"maxSubscribers"/],
    [{ maxSubscribers: NaN }, RangeError, /"maxSubscribers"/],
    [{ maxSubscribers: 2 ** 31 }, RangeError, /"maxSubscribers"/],
    [{ maxDuration: null }, TypeError, /"maxDuration" must be a number, received null/],
    [{ maxDuration: 0 }, RangeError, /"maxDuration"/],
    [{ maxDuration: -5 }, RangeError, /"maxDuration"/],
    [{ maxDuration: NaN }, RangeError, /"maxDuration"/],
    [{ maxDuration: -Infinity }, RangeError, /"maxDuration"/],
    [{ maxDuration: 2 ** 31 }, RangeError, /"maxDuration"/],
    [{ name: 5 }, TypeError, /"name" must be a string/],
    [{ name: '' }, RangeError, /"name"/],
    [{ name: 'n'.repeat(257) }, RangeError, /"name"/],
    [{ maxSubscriber: 5 }, TypeError, /Unknown Singleflight option "maxSubscriber"/],
    [null, TypeError, /options must be an object/],
    ['fast', TypeError, /options must be an object/],
    [[], TypeError, /options must be an object/],
  ])('%p is refused with a clear error', (options, Type, message) => {
    expect(() => new Singleflight(options)).toThrow(Type);
    expect(() => new Singleflight(options)).toThrow(message);
  });

  test('Infinity is accepted for both limits', () => {
    const sf = new Singleflight({ maxSubscribers: Infinity, maxDuration: Infinity });
    expect(sf.maxSubscribers).toBe(Infinity);
    expect(sf.maxDuration).toBe(Infinity);
  });
});
