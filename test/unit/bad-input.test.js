// Bad input: every public function and constructor driven with wrong types, out-of-range
// numbers, unknown option names, keys over the limit, values that cannot cross threads, and
// keys (and names) that only differ in NUL bytes, surrogates or Unicode normalization.
// Programming errors throw synchronously — TypeError for a wrong type or an unknown option,
// RangeError for a value out of range — with a message naming the argument or option.
const { Singleflight, MAX_KEY_LENGTH } = require('../..');
const { deferred } = require('./helpers');
const { sharedCounters, eventually, uniqueName, leadHere } = require('../threads/helpers');
const { startFaultWorker, within } = require('../faults/helpers');

/** The error `fn` throws synchronously; fails the test if it returns instead. */
function thrown(fn) {
  let result;
  try {
    result = fn();
  } catch (error) {
    return error;
  }
  if (result instanceof Promise) result.catch(() => {}); // failing here is enough: no unhandled rejection later
  throw new Error(`expected a synchronous throw, got ${result instanceof Promise ? 'a promise' : typeof result}`);
}

function expectThrows(fn, Type, mentions) {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(Type);
  expect(error.constructor).toBe(Type); // a RangeError is not a TypeError, nor the reverse
  expect(error.message).toContain(mentions);
}

/** Both kinds of instance: an unnamed one (JavaScript table) and a named one (native table). */
const instances = [
  ['an unnamed instance', () => new Singleflight()],
  ['a named instance', () => new Singleflight({ name: uniqueName('bad-input') })],
];

/** Values of every type that a string or number parameter must refuse. */
const NOT_A_STRING_OR_NUMBER = [
  ['null', null],
  ['a boolean', true],
  ['an object', { id: 1 }],
  ['an array', ['k']],
  ['a symbol', Symbol('k')],
  ['a bigint', 3n],
  ['a function', () => 'k'],
];

/** Values of every type that an options parameter must refuse (objects aside). */
const NOT_OBJECTS = [
  ['null', null],
  ['a boolean', false],
  ['a number', 5],
  ['a string', 'fast'],
  ['a symbol', Symbol('o')],
  ['a bigint', 5n],
  ['a function', () => ({})],
];

// --- new Singleflight(options) -------------------------------------------------------------

describe('new Singleflight(options)', () => {
  test('omitted options and undefined values give the defaults', () => {
    for (const sf of [
      new Singleflight(),
      new Singleflight(undefined),
      new Singleflight({}),
      new Singleflight({ maxSubscribers: undefined, maxDuration: undefined, name: undefined }),
    ]) {
      expect([sf.maxSubscribers, sf.maxDuration, sf.name]).toEqual([Infinity, 30_000, undefined]);
    }
    const named = new Singleflight({ maxSubscribers: 10, maxDuration: 500, name: uniqueName('users') });
    expect([named.maxSubscribers, named.maxDuration]).toEqual([10, 500]);
  });

  test('calling it without new is a TypeError', () => {
    expectThrows(() => Singleflight(), TypeError, 'Singleflight');
  });

  test.each([...NOT_OBJECTS, ['an array', [{ maxDuration: 5 }]]])(
    'options as %s is a TypeError naming the options',
    (_label, options) => {
      expectThrows(() => new Singleflight(options), TypeError, 'options must be an object');
    },
  );

  test.each([
    ['a misspelling', { maxSubscriber: 5 }, 'maxSubscriber'],
    ['the wrong case', { maxduration: 5 }, 'maxduration'],
    ['a call option', { signal: new AbortController().signal }, 'signal'],
    ['another library’s option', { timeout: 100 }, 'timeout'],
    ['an empty name', { '': 1 }, '""'],
    ['an own "__proto__"', JSON.parse('{"__proto__": 1}'), '__proto__'],
    ['next to valid ones', { maxDuration: 100, name: 'x', ttl: 5 }, 'ttl'],
  ])('an unknown option (%s) is a TypeError naming it', (_label, options, mentions) => {
    expectThrows(
      () => new Singleflight(options),
      TypeError,
      `Unknown Singleflight option ${mentions.startsWith('"') ? mentions : `"${mentions}"`}`,
    );
  });

  describe.each(['maxSubscribers', 'maxDuration'])('option %s', (option) => {
    const limit = 2 ** 31 - 1;

    test.each([...NOT_A_STRING_OR_NUMBER, ['a numeric string', '3'], ['a Number object', Object(3)]])(
      'as %s is a TypeError naming it',
      (_label, value) => {
        expectThrows(() => new Singleflight({ [option]: value }), TypeError, `"${option}" must be a number`);
      },
    );

    test('the TypeError tells what it received', () => {
      expectThrows(() => new Singleflight({ [option]: null }), TypeError, 'received null');
      expectThrows(() => new Singleflight({ [option]: 5n }), TypeError, 'received bigint 5');
    });

    test.each([
      ['NaN', NaN],
      ['0', 0],
      ['-0', -0],
      ['negative', -1],
      ['fractional', 1.5],
      ['a fraction below 1', 0.5],
      ['1 + Number.EPSILON', 1 + Number.EPSILON],
      ['-Infinity', -Infinity],
      ['one past the limit (2^31)', 2 ** 31],
      ['huge (2^53)', 2 ** 53],
      ['Number.MAX_VALUE', Number.MAX_VALUE],
      ['Number.MIN_VALUE', Number.MIN_VALUE],
    ])('%s is a RangeError naming it', (_label, value) => {
      expectThrows(
        () => new Singleflight({ [option]: value }),
        RangeError,
        `"${option}" must be an integer from 1 to ${limit}`,
      );
    });

    test.each([
      ['1', 1, 1],
      ['the limit (2^31 - 1)', limit, option === 'maxDuration' ? limit : Infinity],
      ['Infinity', Infinity, Infinity],
    ])('%s is accepted', (_label, value, effective) => {
      // A maxSubscribers of 2^31 - 1 is what the int32 counter of a flight can hold at most:
      // the same limit as Infinity, and reported as such.
      expect(new Singleflight({ [option]: value })[option]).toBe(effective);
    });
  });

  describe('option name', () => {
    test.each([...NOT_A_STRING_OR_NUMBER, ['a number', 5], ['a String object', Object('n')]])(
      'as %s is a TypeError naming it',
      (_label, name) => {
        expectThrows(() => new Singleflight({ name }), TypeError, '"name" must be a string');
      },
    );

    test.each([
      ['empty', ''],
      ['257 characters', 'n'.repeat(257)],
      ['100 000 characters', 'n'.repeat(100_000)],
    ])('%s is a RangeError naming it', (_label, name) => {
      expectThrows(
        () => new Singleflight({ name }),
        RangeError,
        `"name" must have 1 to 256 characters, received ${name.length}`,
      );
    });

    test.each([
      ['one character', 'n'],
      ['256 characters', 'n'.repeat(256)],
      ['a NUL byte', 'a\0b'],
      ['surrogate pairs (128 emoji = 256 code units)', '\ud83d\ude00'.repeat(128)],
      ['a lone high surrogate', '\ud800'],
      ['a lone low surrogate inside text', 'a\udc00b'],
      ['a surrogate pair in the wrong order', '\udc00\ud800'],
    ])('%s is accepted', (_label, suffix) => {
      const name = suffix.length >= 256 ? suffix : `${uniqueName('ok')}:${suffix}`;
      expect(new Singleflight({ name }).name).toBe(name);
    });
  });

  // Different names are different tables, however close: if they shared one, the second
  // instance would see the first one's flight, and its other limits would be refused.
  test.each([
    ['NUL then b / NUL then c', 'a\0b', 'a\0c'],
    ['with a NUL / its prefix', 'a\0b', 'a'],
    ['NFC / NFD', 'caf\u00e9', 'cafe\u0301'],
    ['Å / Ångström sign', '\u00c5', '\u212b'],
    ['case', 'Users', 'users'],
    // UTF-8 would turn each of these into U+FFFD and merge them: names are read as UTF-16.
    ['two lone high surrogates', '\ud800', '\udbff'],
    ['lone surrogate / U+FFFD', '\udc00', '\ufffd'],
    ['swapped surrogate pair / the pair', '\udc00\ud800', '\ud800\udc00'],
  ])('names are compared exactly (%s)', async (_label, a, b) => {
    const prefix = uniqueName('names');
    const first = new Singleflight({ name: prefix + a, maxDuration: 1000 });
    const second = new Singleflight({ name: prefix + b, maxDuration: 2000 }); // no OptionsMismatchError
    const lead = leadHere(first);
    expect(second.isInFlight('hot')).toBe(false);
    await expect(second.execute('hot', () => 'second')).resolves.toBe('second');
    lead.open('first');
    await expect(lead.result).resolves.toBe('first');
  });
});

// --- keys --------------------------------------------------------------------------------

const keyCalls = [
  ['execute', (sf, key, work) => sf.execute(key, work)],
  ['do', (sf, key, work) => sf.do(key, work)],
  ['forget', (sf, key) => sf.forget(key)],
  ['isInFlight', (sf, key) => sf.isInFlight(key)],
];

describe.each(instances)('keys of %s', (_kind, create) => {
  const sf = create();

  describe.each(keyCalls)('%s(key)', (_method, call) => {
    test.each([
      ['undefined', undefined],
      ['a number', 42],
      ['NaN', NaN],
      ['a String object', Object('k')],
      ...NOT_A_STRING_OR_NUMBER,
    ])('with %s as key is a TypeError naming the key', (_label, key) => {
      const ran = jest.fn();
      expectThrows(() => call(sf, key, ran), TypeError, 'key must be a string');
      expect(ran).not.toHaveBeenCalled();
      expect(sf.getStats()).toMatchObject({ inFlightCount: 0, totalSubscribers: 0 });
    });
  });

  test.each([
    ['one past the limit', MAX_KEY_LENGTH + 1],
    ['twice the limit', 2 * MAX_KEY_LENGTH],
    ['a million characters', 1_000_000],
  ])(
    'execute and do with a key %s are a RangeError naming MAX_KEY_LENGTH, even with an aborted signal',
    (_label, length) => {
      const key = 'k'.repeat(length);
      const ran = jest.fn();
      for (const call of [
        () => sf.execute(key, ran),
        () => sf.do(key, ran),
        () => sf.execute(key, ran, { signal: AbortSignal.abort() }),
        () => sf.do(key, ran, { signal: AbortSignal.abort() }),
      ]) {
        expectThrows(
          call,
          RangeError,
          `Singleflight key is ${length} characters long; the limit is MAX_KEY_LENGTH (${MAX_KEY_LENGTH})`,
        );
      }
      expect(ran).not.toHaveBeenCalled();
      expect(sf.getStats()).toMatchObject({ inFlightCount: 0, totalSubscribers: 0 });
    },
  );

  test('isInFlight and forget of a key over the limit answer false: no flight can have it', () => {
    const key = 'k'.repeat(MAX_KEY_LENGTH + 1);
    expect(sf.isInFlight(key)).toBe(false);
    expect(sf.forget(key)).toBe(false);
  });

  test.each([
    ['ASCII', 'k'.repeat(MAX_KEY_LENGTH)],
    ['surrogate pairs', '\ud83d\ude00'.repeat(MAX_KEY_LENGTH / 2)],
    ['NUL bytes', '\0'.repeat(MAX_KEY_LENGTH)],
  ])('a key of exactly MAX_KEY_LENGTH (%s) works in every function', async (_label, key) => {
    expect(key.length).toBe(MAX_KEY_LENGTH);
    const gate = deferred();
    const calls = [sf.execute(key, () => gate.promise), sf.do(key, () => 'joined, not run')];
    expect(sf.isInFlight(key)).toBe(true);
    expect(sf.isInFlight(key.slice(1))).toBe(false);
    expect(sf.forget(key)).toBe(true);
    await expect(sf.execute(key, async () => 'fresh')).resolves.toBe('fresh');
    gate.resolve('at the limit');
    await expect(Promise.all(calls)).resolves.toEqual(['at the limit', { value: 'at the limit', shared: true }]);
    expect(sf.getStats()).toMatchObject({ inFlightCount: 0, totalSubscribers: 0 });
  });
});

// --- work and call options -----------------------------------------------------------------

const callMethods = [
  ['execute', (sf, ...args) => sf.execute(...args)],
  ['do', (sf, ...args) => sf.do(...args)],
];

describe.each(instances)('work and call options of %s', (_kind, create) => {
  const sf = create();

  describe.each(callMethods)('%s(key, work, options)', (_method, call) => {
    test.each([
      ['undefined', undefined],
      ['a number', 42],
      ['a string', 'work'],
      ['a promise', Promise.resolve(1)],
      ['a thenable', { then: (resolve) => resolve(1) }],
      ...NOT_A_STRING_OR_NUMBER.filter(([label]) => label !== 'a function'),
    ])('with %s as work is a TypeError naming work', (_label, badWork) => {
      expectThrows(() => call(sf, 'k', badWork), TypeError, 'work must be a function');
      expect(sf.isInFlight('k')).toBe(false);
    });

    test.each([...NOT_OBJECTS, ['an empty array', []], ['an array of options', [{ signal: undefined }]]])(
      'with %s as options is a TypeError naming the call options',
      (_label, options) => {
        const ran = jest.fn();
        expectThrows(() => call(sf, 'k', ran, options), TypeError, 'call options must be an object');
        expect(ran).not.toHaveBeenCalled();
        expect(sf.isInFlight('k')).toBe(false);
      },
    );

    test.each([
      ['timeout', { timeout: 100 }],
      ['maxDuration', { maxDuration: 100 }],
      ['Signal', { Signal: new AbortController().signal }],
      ['name', { signal: undefined, name: 'x' }],
    ])('an unknown option "%s" is a TypeError naming it', (option, options) => {
      const ran = jest.fn();
      expectThrows(() => call(sf, 'k', ran, options), TypeError, `Unknown Singleflight call option "${option}"`);
      expect(ran).not.toHaveBeenCalled();
    });

    test.each([
      ...NOT_A_STRING_OR_NUMBER,
      ['a number', 1],
      ['a string', 'abort'],
      ['an AbortController', new AbortController()],
      ['an object with aborted but no listeners', { aborted: false }],
    ])('with %s as signal is a TypeError naming signal', (_label, signal) => {
      const ran = jest.fn();
      expectThrows(() => call(sf, 'k', ran, { signal }), TypeError, '"signal" must be an AbortSignal');
      expect(ran).not.toHaveBeenCalled();
    });

    test.each([
      ['undefined', undefined],
      ['{}', {}],
      ['{ signal: undefined }', { signal: undefined }],
      ['a live signal', { signal: new AbortController().signal }],
    ])('%s as options is accepted', async (_label, options) => {
      const result = await call(sf, 'ok', async () => 'v', options);
      expect(result === 'v' || result.value === 'v').toBe(true);
    });

    test('a class as work is a function: accepted, and its TypeError (called without new) is the outcome', async () => {
      class Work {}
      const error = await call(sf, 'class', Work).catch((e) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toContain("without 'new'");
      expect(sf.isInFlight('class')).toBe(false);
    });
  });
});

// --- functions without parameters --------------------------------------------------------

describe.each(instances)('functions without parameters of %s ignore what they are given', (_kind, create) => {
  test.each([
    ['a number', 1],
    ['null', null],
    ['an object', { key: 'k' }],
    ['a symbol', Symbol('s')],
    ['a bigint', 1n],
    ['a function', () => 0],
  ])('%s', async (_label, junk) => {
    const sf = create();
    const lead = leadHere(sf);
    expect(sf.getStats(junk)).toMatchObject({ inFlightCount: 1, totalSubscribers: 1 });
    expect(sf.getInFlightCount(junk, junk)).toBe(1);
    expect(sf.clear(junk)).toBeUndefined();
    expect(sf.isInFlight('hot')).toBe(false); // clear() did its work
    expect(sf.getInFlightCount(junk)).toBe(0);
    lead.open('v');
    await expect(lead.result).resolves.toBe('v');
  });
});

// --- keys are compared exactly -------------------------------------------------------------

// Pairs of keys that UTF-8 conversion, normalization or C strings would confuse; each pair is
// two keys. Firsts and seconds are disjoint sets, so one worker can lead all the firsts.
const KEY_PAIRS = [
  ['NUL then b / NUL then c', 'a\0b', 'a\0c'],
  ['with a NUL / its prefix', 'a\0b2', 'a'],
  ['trailing NUL / none', 'b\0', 'b'],
  ['NUL / empty', '\0', ''],
  ['é NFC / NFD', '\u00e9', 'e\u0301'],
  ['café NFC / NFD', 'caf\u00e9', 'cafe\u0301'],
  ['Å / Ångström sign', '\u00c5', '\u212b'],
  ['two lone high surrogates', '\ud800', '\udbff'],
  ['lone high surrogate / U+FFFD', '\ud801', '\ufffd'],
  ['lone low surrogate / U+FFFD', '\udc00', '\ufffdx'],
  ['swapped surrogate pair / the pair', '\udc00\ud800', '\ud800\udc00'],
  ['case', 'key', 'KEY'],
];

describe.each(instances)('keys of %s are compared exactly', (_kind, create) => {
  test.each(KEY_PAIRS)('%s', async (_label, first, second) => {
    const sf = create();
    const gate = deferred();
    const firstRun = jest.fn(() => gate.promise);
    const led = sf.execute(first, firstRun);
    expect(sf.isInFlight(first)).toBe(true);
    expect(sf.isInFlight(second)).toBe(false);
    expect(sf.forget(second)).toBe(false);
    const other = sf.execute(second, async () => ({ key: second }));
    const joined = sf.execute(first, () => 'must not run');
    expect(sf.getStats()).toMatchObject({ inFlightCount: 2, totalSubscribers: 3 });
    await expect(other).resolves.toEqual({ key: second });
    gate.resolve({ key: first });
    const [a, b] = await Promise.all([led, joined]);
    expect(a).toBe(b);
    expect(a.key).toBe(first);
    expect(firstRun).toHaveBeenCalledTimes(1);
    expect(sf.getStats()).toMatchObject({ inFlightCount: 0, totalSubscribers: 0 });
  });
});

describe('keys of a named instance are compared exactly across a worker', () => {
  test.each(KEY_PAIRS)('%s', async (_label, first, second) => {
    const { shared, counters } = sharedCounters();
    const name = uniqueName('exact-keys');
    const leader = startFaultWorker({ scenario: 'leadKeys', name, shared, id: 'L', keys: [first] });
    expect((await leader.next('leading')).inFlight).toEqual([true]);
    const sf = new Singleflight({ name });
    expect(sf.isInFlight(first)).toBe(true);
    expect(sf.isInFlight(second)).toBe(false);
    let ranHere = 0;
    await expect(
      within(
        sf.execute(second, async () => (ranHere++, { by: 'main', key: second })),
        10_000,
        'the second key',
      ),
    ).resolves.toEqual({ by: 'main', key: second });
    const joined = sf.execute(first, () => 'must not run');
    await eventually(() => sf.getStats().totalSubscribers === 2);
    leader.worker.postMessage('release');
    const value = await within(joined, 10_000, 'the joined call');
    expect(value).toEqual({ by: 'L', key: first });
    expect(value.key === first).toBe(true); // the very code units, after crossing twice
    expect((await leader.next('done')).outcomes).toEqual([{ value: { by: 'L', key: first } }]);
    expect([ranHere, Atomics.load(counters, 0)]).toEqual([1, 1]);
    for (const key of [first, second]) {
      expect(sf.isInFlight(key)).toBe(false);
      expect((await leader.probe(key)).inFlight).toBe(false);
    }
    expect(sf.getStats()).toMatchObject({ inFlightCount: 0, totalSubscribers: 0 });
  });
});

// --- values that cannot be cloned to another thread ----------------------------------------

describe('outcomes that cannot be cloned to a waiting worker', () => {
  let warnings;
  beforeEach(() => {
    warnings = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
  });
  afterEach(() => warnings.mockRestore());

  /** This thread leads with `outcome`; a worker with 2 callers waits. Returns what they got. */
  async function crossing(outcome) {
    const { shared, counters } = sharedCounters();
    const name = uniqueName('uncloneable');
    const sf = new Singleflight({ name });
    const lead = leadHere(sf);
    const waiter = startFaultWorker({ scenario: 'wait', name, shared, id: 'W', callers: 2 });
    await waiter.next('waiting');
    await eventually(() => sf.getStats().totalSubscribers === 3);
    const here = lead.result.then(
      (value) => ({ value }),
      (error) => ({ error }),
    );
    outcome(lead);
    const mine = await within(here, 10_000, 'the leader');
    const theirs = (await waiter.next('done')).outcomes;
    const result = { mine, theirs, ownRuns: Atomics.load(counters, 0), stats: sf.getStats() };
    expect((await waiter.probe()).stats).toMatchObject({ inFlightCount: 0, totalSubscribers: 0 });
    return result;
  }

  test.each([
    ['a function', () => () => 'fn', 'return'],
    ['a symbol', () => Symbol('s'), 'return'],
    ['an object holding a function', () => ({ id: 1, fn() {} }), 'return'],
    ['an object holding a symbol', () => ({ id: 1, tag: Symbol('t') }), 'return'],
    ['a WeakMap', () => new WeakMap(), 'return'],
    ['a thrown symbol', () => Symbol('thrown'), 'throw'],
    ['a thrown function', () => () => 'thrown', 'throw'],
    ['a thrown object holding a function', () => ({ retry() {} }), 'throw'],
  ])(
    '%s: the leader keeps it; the waiting worker runs its own work once; counted and warned',
    async (_label, make, how) => {
      const original = make();
      const { mine, theirs, ownRuns, stats } = await crossing((lead) => {
        if (how === 'throw') lead.open(Promise.reject(original));
        else lead.open(original);
      });
      expect(mine).toEqual(how === 'throw' ? { error: original } : { value: original });
      expect(how === 'throw' ? mine.error : mine.value).toBe(original); // the very value, here
      expect(theirs).toEqual([{ value: { by: 'W' } }, { value: { by: 'W' } }]);
      expect(ownRuns).toBe(1); // once for both callers of that thread
      expect(stats).toMatchObject({ inFlightCount: 0, totalSubscribers: 0, cloneFailures: 1 });
      expect(warnings).toHaveBeenCalledTimes(1);
      expect(warnings.mock.calls[0][1]).toMatchObject({ code: 'THREADFLIGHT_UNCLONEABLE' });
    },
  );

  test('an Error with a function among its own properties crosses without that property', async () => {
    const error = Object.assign(new RangeError('no row'), { code: 'E_ROW', retry() {}, attempt: 2 });
    const { mine, theirs, ownRuns, stats } = await crossing((lead) => lead.open(Promise.reject(error)));
    expect(mine.error).toBe(error);
    expect(theirs).toEqual(
      [1, 2].map(() => ({
        error: expect.objectContaining({
          name: 'RangeError',
          message: 'no row',
          code: 'E_ROW',
          isError: true,
          ownKeys: ['code', 'attempt'],
        }),
      })),
    );
    expect(ownRuns).toBe(0);
    expect(stats.cloneFailures).toBe(0);
    expect(warnings).not.toHaveBeenCalled();
  });
});
