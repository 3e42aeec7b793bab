// FlightCache in one thread: the contract of getOrSet/remember, for an unnamed cache (this
// thread's alone) and a named one (the process-wide native store), with real short timers.
const { FlightCache, FlightTimeoutError, CacheValueError, OptionsMismatchError } = require('../..');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let unique = 0;
const uniqueName = (label) => `cache-test-${label}-${process.pid}-${unique++}`;

/** A factory that counts its runs and answers after `ms` with a new object. */
function counting(ms = 10, make = (run) => ({ run })) {
  const factory = async (ctx) => {
    factory.runs++;
    factory.contexts.push(ctx);
    if (ms > 0) await sleep(ms);
    return make(factory.runs, ctx);
  };
  factory.runs = 0;
  factory.contexts = [];
  return factory;
}

/** Rejects with what the factory throws, once its gate opens. */
function gated() {
  let open;
  const gate = new Promise((resolve) => (open = resolve));
  const factory = async () => {
    factory.runs++;
    const outcome = await gate;
    if (outcome instanceof Error) throw outcome;
    return outcome;
  };
  factory.runs = 0;
  factory.open = open;
  return factory;
}

describe.each([
  ['unnamed', () => undefined],
  ['named', (label) => uniqueName(label)],
])('FlightCache (%s)', (kind, nameFor) => {
  const cache = (label, options = {}) => new FlightCache({ name: nameFor(label), ...options });

  test('a miss runs the factory once for every concurrent caller; hits return the same object', async () => {
    const c = cache('coalesce', { ttl: '1m' });
    const factory = counting(20);
    const values = await Promise.all(Array.from({ length: 200 }, () => c.getOrSet('k', factory)));
    expect(factory.runs).toBe(1);
    expect(new Set(values).size).toBe(1);
    expect(values[0]).toEqual({ run: 1 });
    const status = {};
    await expect(c.getOrSet('k', factory, { status })).resolves.toBe(values[0]);
    expect(status).toEqual({ get: 'hit' });
    expect(c.get('k')).toBe(values[0]);
    expect(factory.runs).toBe(1);
    const stats = c.stats();
    expect(stats).toMatchObject({ entries: 1, factoryRuns: 1, misses: 200, hits: 2, inFlight: 0 });
  });

  test('remember(key, ttl, factory) caches for ttl, then runs the factory again', async () => {
    const c = cache('remember');
    const factory = counting(0);
    expect(await c.remember('k', 60, factory)).toEqual({ run: 1 });
    expect(await c.remember('k', 60, factory)).toEqual({ run: 1 });
    await sleep(90);
    expect(await c.remember('k', 60, factory)).toEqual({ run: 2 });
    expect(factory.runs).toBe(2);
  });

  test('within grace, callers get the stale value at once while exactly one refresh runs', async () => {
    const c = cache('grace', { ttl: 50, grace: '10s' });
    const factory = counting(40);
    const first = await c.getOrSet('k', factory);
    await sleep(70);
    const statuses = Array.from({ length: 50 }, () => ({}));
    const started = Date.now();
    const stale = await Promise.all(statuses.map((status) => c.getOrSet('k', factory, { status })));
    expect(Date.now() - started).toBeLessThan(30); // not waiting for the 40 ms factory
    expect(stale.every((value) => value === first)).toBe(true);
    expect(statuses[0]).toEqual({ get: 'stale', refresh: 'started' });
    await sleep(80);
    expect(factory.runs).toBe(2);
    expect(factory.contexts[1].stale).toEqual({ value: first });
    const status = {};
    expect(await c.getOrSet('k', factory, { status })).toEqual({ run: 2 });
    expect(status.get).toBe('hit');
    expect(c.stats()).toMatchObject({ staleHits: 50, factoryRuns: 2 });
  });

  test('a failing refresh keeps the stale value served, and is retried only after graceBackoff', async () => {
    const c = cache('backoff', { ttl: 30, grace: '10s', graceBackoff: 150 });
    let fail = true;
    let runs = 0;
    const factory = async () => {
      runs++;
      if (runs > 1 && fail) throw new Error('backend down');
      return { runs };
    };
    await c.getOrSet('k', factory);
    await sleep(50);
    expect(await c.getOrSet('k', factory)).toEqual({ runs: 1 }); // refresh starts, fails
    await sleep(20);
    expect(runs).toBe(2);
    const status = {};
    for (let i = 0; i < 20; i++) expect(await c.getOrSet('k', factory, { status })).toEqual({ runs: 1 });
    expect(status).toEqual({ get: 'stale', refresh: 'backoff' });
    expect(runs).toBe(2); // backing off
    expect(c.stats().factoryErrors).toBe(1);
    await sleep(170);
    fail = false;
    expect(await c.getOrSet('k', factory)).toEqual({ runs: 1 }); // the retry starts
    await sleep(20);
    expect(runs).toBe(3);
    expect(await c.getOrSet('k', factory)).toEqual({ runs: 3 });
  });

  test('timeout (soft): with a stale value, a slower factory answers stale and finishes in the background', async () => {
    const c = cache('soft', { ttl: 30, grace: '10s' });
    await c.getOrSet('k', counting(0));
    await sleep(50);
    const slow = counting(150, () => 'fresh');
    const status = {};
    const started = Date.now();
    expect(await c.getOrSet('k', slow, { timeout: 40, ttl: '1h', status })).toEqual({ run: 1 });
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(35);
    expect(waited).toBeLessThan(140);
    expect(status).toMatchObject({ get: 'stale', timeout: 'soft' });
    await sleep(160);
    expect(await c.getOrSet('k', slow)).toBe('fresh');
    expect(slow.runs).toBe(1);
  });

  test('timeout (soft): a factory faster than the timeout answers with the fresh value', async () => {
    const c = cache('soft-fast', { ttl: 30, grace: '10s' });
    await c.getOrSet('k', counting(0));
    await sleep(50);
    const status = {};
    expect(
      await c.getOrSet(
        'k',
        counting(5, () => 'fresh'),
        { timeout: 500, status },
      ),
    ).toBe('fresh');
    expect(status).toMatchObject({ get: 'stale', refresh: 'started', fill: 'factory' });
  });

  test('a failing refresh awaited within timeout answers with the stale value (stale-if-error)', async () => {
    const c = cache('stale-if-error', { ttl: 30, grace: '10s' });
    const first = await c.getOrSet('k', counting(0));
    await sleep(50);
    const status = {};
    const failing = async () => {
      throw new Error('down');
    };
    expect(await c.getOrSet('k', failing, { timeout: 500, status })).toEqual(first);
    expect(status.staleIfError).toBe(true);
  });

  test('hardTimeout rejects a miss with FlightTimeoutError; the factory still fills the cache', async () => {
    const c = cache('hard', { ttl: '1m' });
    const slow = counting(120, () => 'late');
    const status = {};
    const error = await c.getOrSet('k', slow, { hardTimeout: 30, status }).catch((e) => e);
    expect(error).toBeInstanceOf(FlightTimeoutError);
    expect(error).toMatchObject({ code: 'ERR_FLIGHT_TIMEOUT', key: 'k', limit: 'hardTimeout', maxDuration: 30 });
    expect(error.message).toMatch(/hardTimeout \(30 ms\)/);
    expect(status.timeout).toBe('hard');
    await sleep(130);
    expect(c.get('k')).toBe('late');
    expect(slow.runs).toBe(1);
  });

  test('errors reach every caller and are never cached', async () => {
    const c = cache('errors');
    const factory = gated();
    const calls = Array.from({ length: 20 }, () => c.getOrSet('k', factory));
    const boom = Object.assign(new Error('db down'), { code: 'EDB' });
    factory.open(boom);
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.every((o) => o.status === 'rejected' && o.reason.message === 'db down')).toBe(true);
    expect(factory.runs).toBe(1);
    expect(c.get('k')).toBeUndefined();
    await expect(c.getOrSet('k', () => 'ok')).resolves.toBe('ok');
    expect(c.stats()).toMatchObject({ factoryErrors: 1, factoryRuns: 2 });
  });

  test('a factory that throws synchronously, or returns a hostile thenable, rejects its callers', async () => {
    const c = cache('hostile');
    await expect(
      c.getOrSet('sync', () => {
        throw new TypeError('sync');
      }),
    ).rejects.toThrow('sync');
    const hostile = {
      get then() {
        throw new Error('then getter');
      },
    };
    await expect(c.getOrSet('thenable', () => hostile)).rejects.toThrow('then getter');
    expect(c.stats().entries).toBe(0);
  });

  test('the context: skip() answers without caching, fail() rejects, setTtl() and a ttl function set the ttl', async () => {
    const c = cache('context', { ttl: '1h' });
    const status = {};
    expect(
      await c.getOrSet(
        'skipped',
        (ctx) => {
          ctx.skip();
          return 'not cached';
        },
        { status },
      ),
    ).toBe('not cached');
    expect(status.fill).toBe('skipped');
    expect(c.has('skipped')).toBe(false);

    const reason = new RangeError('not found');
    await expect(c.getOrSet('failed', (ctx) => ctx.fail(reason))).rejects.toBe(reason);
    expect(c.has('failed')).toBe(false);

    await c.getOrSet('short', (ctx) => {
      ctx.setTtl(40);
      return 1;
    });
    await c.getOrSet('by-value', () => null, { ttl: (value) => (value === null ? 40 : '1h') });
    expect(c.has('short') && c.has('by-value')).toBe(true);
    await sleep(60);
    expect(c.has('short') || c.has('by-value')).toBe(false);
    await expect(c.getOrSet('bad-ttl', () => 1, { ttl: () => 'soon' })).rejects.toThrow(TypeError);
  });

  test('delete() while a refresh is in flight: the old value is never written back', async () => {
    const c = cache('race', { ttl: '1h' });
    const factory = gated();
    const pending = c.getOrSet('k', factory);
    await sleep(5);
    expect(c.delete('k')).toBe(false); // nothing stored yet, but the fill is doomed
    const fresh = c.getOrSet('k', () => 'after delete'); // does not join the doomed flight
    factory.open('before delete');
    await expect(pending).resolves.toBe('before delete');
    await expect(fresh).resolves.toBe('after delete');
    expect(c.get('k')).toBe('after delete');

    const again = gated();
    const refill = c.getOrSet('other', again);
    await sleep(5);
    c.clear();
    again.open('stale data');
    await expect(refill).resolves.toBe('stale data');
    expect(c.has('other')).toBe(false);
  });

  test('set() replaces the value, and a fill racing it does not overwrite it', async () => {
    const c = cache('set', { ttl: '1h' });
    const factory = gated();
    const pending = c.getOrSet('k', factory);
    await sleep(5);
    c.set('k', { v: 'set' });
    factory.open({ v: 'fill' });
    await pending;
    expect(c.get('k')).toEqual({ v: 'set' });
    c.set('short', 1, { ttl: 30 });
    await sleep(50);
    expect(c.get('short')).toBeUndefined();
  });

  test('maxEntries evicts the least recently used entry; an entry read since survives', async () => {
    const c = cache('lru', { maxEntries: 3 });
    for (const key of ['a', 'b', 'c']) await c.getOrSet(key, () => key);
    await sleep(40); // past a tick of the touched stamps
    expect(c.get('a')).toBe('a');
    await c.getOrSet('d', () => 'd');
    expect(c.has('a')).toBe(true);
    expect(c.has('b')).toBe(false);
    expect(c.stats()).toMatchObject({ entries: 3, evictions: 1 });
  });

  test('maxBytes bounds the bytes held; a value alone over it is not cached', async () => {
    const c = cache('bytes', { maxBytes: 4096 });
    for (let i = 0; i < 20; i++) await c.getOrSet(`k${i}`, () => 'x'.repeat(1000));
    const stats = c.stats();
    expect(stats.bytes).toBeLessThanOrEqual(4096);
    expect(stats.entries).toBeLessThanOrEqual(4);
    expect(stats.evictions).toBeGreaterThanOrEqual(16);
    expect(await c.getOrSet('huge', () => 'y'.repeat(10_000))).toHaveLength(10_000);
    expect(c.has('huge')).toBe(false);
  });

  test('memory stays bounded under churn of distinct keys', async () => {
    const c = cache('churn', { maxEntries: 500 });
    for (let i = 0; i < 20_000; i++) {
      await c.getOrSet(`key-${i}`, () => i);
    }
    expect(c.stats().entries).toBe(500);
    expect(c.stats().evictions).toBe(19_500);
  });

  test('a caller whose signal aborts leaves; the others get the value', async () => {
    const c = cache('abort');
    const factory = gated();
    const controller = new AbortController();
    const leaving = c.getOrSet('k', factory, { signal: controller.signal });
    const staying = c.getOrSet('k', factory);
    controller.abort();
    await expect(leaving).rejects.toMatchObject({ name: 'AbortError' });
    factory.open('v');
    await expect(staying).resolves.toBe('v');
    await expect(c.getOrSet('x', () => 1, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  test('a failed forceFresh fill leaves the fresh value fresh (only a failed refresh backs off)', async () => {
    const c = cache('force-fail');
    c.set('k', 'v', { ttl: '1h' });
    await expect(
      c.getOrSet(
        'k',
        async () => {
          throw new Error('down');
        },
        { forceFresh: true },
      ),
    ).rejects.toThrow('down');
    const status = {};
    expect(await c.getOrSet('k', () => 'other', { status })).toBe('v');
    expect(status).toEqual({ get: 'hit' });
  });

  test('a caller whose signal aborts while it waits (soft timeout) for a refresh is rejected at once', async () => {
    const c = cache('stale-abort', { ttl: 20, grace: '10s' });
    await c.getOrSet('k', () => 'old');
    await sleep(40);
    const controller = new AbortController();
    const started = Date.now();
    const waiting = c.getOrSet('k', counting(300), { timeout: 1000, signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(250);
  });

  test('forceFresh runs the factory even over a fresh value', async () => {
    const c = cache('force');
    const factory = counting(0);
    await c.getOrSet('k', factory);
    const status = {};
    expect(await c.getOrSet('k', factory, { forceFresh: true, status })).toEqual({ run: 2 });
    expect(status).toEqual({ get: 'miss', fill: 'factory' });
    expect(factory.contexts[1].stale).toEqual({ value: { run: 1 } });
  });
});

describe('FlightCache: values and input', () => {
  test('a named cache refuses values it cannot share between threads, with CacheValueError', async () => {
    const c = new FlightCache({ name: uniqueName('unshareable') });
    const error = await c.getOrSet('fn', () => () => 1).catch((e) => e);
    expect(error).toBeInstanceOf(CacheValueError);
    expect(error).toMatchObject({ code: 'ERR_CACHE_VALUE', key: 'fn' });
    expect(error.message).toMatch(/cannot be cloned/);
    expect(() => c.set('sym', Symbol('s'))).toThrow(CacheValueError);
    // An unnamed cache keeps the very value.
    const local = new FlightCache();
    const fn = () => 1;
    await expect(local.getOrSet('fn', () => fn)).resolves.toBe(fn);
    expect(local.get('fn')).toBe(fn);
  });

  test('hostile values (throwing getters, Proxies) are errors of the call, never crashes', async () => {
    const c = new FlightCache({ name: uniqueName('hostile-values') });
    const getter = {
      get boom() {
        throw new Error('getter');
      },
    };
    await expect(c.getOrSet('getter', () => getter)).rejects.toBeInstanceOf(CacheValueError);
    const trap = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('ownKeys trap');
        },
      },
    );
    await expect(c.getOrSet('proxy', () => trap)).rejects.toBeInstanceOf(CacheValueError);
    // A revoked Proxy fails when the result is adopted (its `then` is read): the call rejects.
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    await expect(c.getOrSet('revoked', () => proxy)).rejects.toBeInstanceOf(TypeError);
    expect(c.stats().entries).toBe(0);
  });

  test('set() refuses a thenable: a hit would adopt it instead of handing it over', async () => {
    for (const c of [new FlightCache(), new FlightCache({ name: uniqueName('thenable') })]) {
      expect(() => c.set('k', { then() {} })).toThrow(/thenable/);
      const hostile = {
        get then() {
          throw new Error('then getter');
        },
      };
      expect(() => c.set('k', hostile)).toThrow(TypeError);
      expect(c.has('k')).toBe(false);
    }
  });

  test('keys longer than MAX_KEY_LENGTH are a RangeError in every method', () => {
    const { MAX_KEY_LENGTH } = require('../..');
    const long = 'k'.repeat(MAX_KEY_LENGTH + 1);
    const c = new FlightCache();
    expect(() => c.get(long)).toThrow(RangeError);
    expect(() => c.has(long)).toThrow(RangeError);
    expect(() => c.set(long, 1)).toThrow(RangeError);
    expect(() => c.delete(long)).toThrow(RangeError);
    expect(() => c.getOrSet(long, () => 1)).toThrow(RangeError);
  });

  test('hardTimeout and timeout accept Infinity; a maxSubscribers mismatch names the cache', () => {
    expect(() => new FlightCache({ hardTimeout: Infinity, timeout: Infinity })).not.toThrow();
    const name = uniqueName('subscribers');
    const first = new FlightCache({ name, maxSubscribers: 5 });
    const error = (() => {
      try {
        new FlightCache({ name, maxSubscribers: 6 });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(OptionsMismatchError);
    expect(error.message).toMatch(new RegExp(`^FlightCache name "${name}" is already in use`));
    expect(error.message).not.toMatch(/threadflight\.cache/);
    expect(first.name).toBe(name);
  });

  test('bad input is a TypeError or RangeError naming the option', () => {
    expect(() => new FlightCache({ ttl: 'soon' })).toThrow(/"ttl" must be a number of milliseconds or a duration/);
    expect(() => new FlightCache({ ttl: -1 })).toThrow(RangeError);
    expect(() => new FlightCache({ grace: '1y' })).toThrow(TypeError);
    expect(() => new FlightCache({ maxEntries: 0 })).toThrow(/"maxEntries" must be an integer/);
    expect(() => new FlightCache({ maxDuration: Infinity })).toThrow(/"maxDuration"/);
    expect(() => new FlightCache({ ttls: 1 })).toThrow(/Unknown flightcache options option "ttls"/i);
    expect(() => new FlightCache({ distributed: {} })).toThrow(/"distributed" must be a coordinator/);
    expect(() => new FlightCache({ distributed: { run() {} } })).toThrow(/needs a "name"/);
    const c = new FlightCache();
    expect(() => c.getOrSet(1, () => 1)).toThrow(/key must be a string/);
    expect(() => c.getOrSet('k', 'nope')).toThrow(/factory must be a function/);
    expect(() => c.getOrSet('k', () => 1, { ttl: '5 minutes' })).toThrow(TypeError);
    expect(() => c.getOrSet('k', () => 1, { status: 1 })).toThrow(/"status"/);
    expect(() => c.remember('k', 'x', () => 1)).toThrow(/remember\(\) ttl/);
  });

  test('durations: milliseconds or strings with ms, s, m, h, d', async () => {
    const c = new FlightCache();
    for (const ttl of [1500, '1500ms', '1.5s', '1m', '2h', '1d']) {
      await c.getOrSet(`k-${ttl}`, () => ttl, { ttl });
      expect(c.get(`k-${ttl}`)).toBe(ttl);
    }
    await c.getOrSet('zero', () => 0, { ttl: 0 });
    expect(c.has('zero')).toBe(false); // a ttl of 0 caches nothing
  });

  test('caches sharing a name must share their limits', () => {
    const name = uniqueName('mismatch');
    const first = new FlightCache({ name, maxEntries: 10 });
    expect(() => new FlightCache({ name, maxEntries: 20 })).toThrow(OptionsMismatchError);
    expect(new FlightCache({ name, maxEntries: 10, ttl: '5s' }).name).toBe(name); // ttl is per call
    expect(first.name).toBe(name);
  });
});
