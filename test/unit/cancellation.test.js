const { Singleflight, TooManySubscribersError } = require('../..');
const { deferred, flushMicrotasks } = require('./helpers');

describe('per-caller cancellation', () => {
  test('an aborted caller is rejected at once with the AbortError; the others get the value', async () => {
    const sf = new Singleflight();
    const gate = deferred();
    let runs = 0;
    let workSignal;
    const work = async (signal) => {
      runs += 1;
      workSignal = signal;
      return gate.promise;
    };
    const leaving = new AbortController();
    const staying = sf.execute('k', work);
    const left = sf.execute('k', work, { signal: leaving.signal });
    leaving.abort();
    const error = await left.catch((e) => e);
    expect(error).toBe(leaving.signal.reason);
    expect(error.name).toBe('AbortError');
    expect(workSignal.aborted).toBe(false);
    expect(sf.getStats().totalSubscribers).toBe(1);
    gate.resolve('value');
    await expect(staying).resolves.toBe('value');
    expect(runs).toBe(1);
  });

  test('a custom abort reason is what the caller gets', async () => {
    const sf = new Singleflight();
    const controller = new AbortController();
    const call = sf.execute('k', () => new Promise(() => {}), { signal: controller.signal });
    const reason = new Error('client went away');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
  });

  test("the leader's own caller leaving does not stop the work while others wait", async () => {
    const sf = new Singleflight();
    const gate = deferred();
    let workSignal;
    const leader = new AbortController();
    const first = sf.execute('k', (signal) => ((workSignal = signal), gate.promise), { signal: leader.signal });
    const second = sf.execute('k', () => 'must not run');
    leader.abort();
    await expect(first).rejects.toMatchObject({ name: 'AbortError' });
    expect(workSignal.aborted).toBe(false);
    expect(sf.isInFlight('k')).toBe(true);
    gate.resolve('shared');
    await expect(second).resolves.toBe('shared');
  });

  test('when every caller has left, the work is aborted and the key is free at once', async () => {
    const sf = new Singleflight();
    const first = deferred();
    let workSignal;
    let runs = 0;
    const controllers = [new AbortController(), new AbortController(), new AbortController()];
    const calls = controllers.map((c) =>
      sf.execute('k', (signal) => ((workSignal = signal), (runs += 1), first.promise), { signal: c.signal }),
    );
    controllers[0].abort();
    controllers[1].abort();
    expect(workSignal.aborted).toBe(false);
    controllers[2].abort();
    expect(workSignal.aborted).toBe(true);
    expect(workSignal.reason.name).toBe('AbortError');
    expect(sf.isInFlight('k')).toBe(false); // a new caller never joins a doomed flight
    expect(sf.getStats()).toMatchObject({ inFlightCount: 0, totalSubscribers: 0 });
    for (const o of await Promise.allSettled(calls)) expect(o.status).toBe('rejected');

    const next = sf.execute('k', async () => ((runs += 1), 'fresh'));
    first.resolve('stale'); // the abandoned work finishing late disturbs nothing
    await expect(next).resolves.toBe('fresh');
    expect(runs).toBe(2);
    await flushMicrotasks();
    expect(sf.getInFlightCount()).toBe(0);
  });

  test('an already-aborted signal rejects without running work or starting a flight', async () => {
    const sf = new Singleflight();
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    let runs = 0;
    await expect(sf.execute('k', () => ++runs, { signal: controller.signal })).rejects.toThrow('too late');
    await expect(sf.do('k', () => ++runs, { signal: controller.signal })).rejects.toThrow('too late');
    expect(runs).toBe(0);
    expect(sf.getInFlightCount()).toBe(0);
  });

  test('maxSubscribers counts only callers still waiting: a left slot can be reused', async () => {
    const sf = new Singleflight({ maxSubscribers: 2 });
    const gate = deferred();
    const controller = new AbortController();
    const a = sf.execute('k', () => gate.promise);
    const b = sf.execute('k', () => gate.promise, { signal: controller.signal });
    await expect(sf.execute('k', () => gate.promise)).rejects.toBeInstanceOf(TooManySubscribersError);
    controller.abort();
    await expect(b).rejects.toMatchObject({ name: 'AbortError' });
    const d = sf.execute('k', () => gate.promise);
    gate.resolve('v');
    await expect(Promise.all([a, d])).resolves.toEqual(['v', 'v']);
  });

  test('a signal that aborts after the flight settled changes nothing', async () => {
    const sf = new Singleflight();
    const controller = new AbortController();
    await expect(sf.execute('k', async () => 1, { signal: controller.signal })).resolves.toBe(1);
    controller.abort();
    await expect(sf.execute('k', async () => 2)).resolves.toBe(2);
  });
});

describe('do()', () => {
  test('reports whether the value was delivered to more than one caller', async () => {
    const sf = new Singleflight();
    await expect(sf.do('solo', async () => 1)).resolves.toEqual({ value: 1, shared: false });
    const gate = deferred();
    const value = { v: 2 };
    const calls = [sf.do('k', () => gate.promise), sf.do('k', () => gate.promise), sf.execute('k', () => gate.promise)];
    gate.resolve(value);
    const [first, second, third] = await Promise.all(calls);
    expect(first).toEqual({ value, shared: true });
    expect(first.value).toBe(value);
    expect(second.shared).toBe(true);
    expect(third).toBe(value);
  });

  test('errors reject do() like execute()', async () => {
    const sf = new Singleflight();
    const failure = new Error('boom');
    await expect(sf.do('k', async () => Promise.reject(failure))).rejects.toBe(failure);
  });
});

describe('forget()', () => {
  test('waiting callers keep the old flight; the next caller starts a new one; the old one never removes it', async () => {
    const sf = new Singleflight();
    expect(sf.forget('k')).toBe(false);
    const oldGate = deferred();
    const old = sf.execute('k', () => oldGate.promise);
    expect(sf.forget('k')).toBe(true);
    expect(sf.isInFlight('k')).toBe(false);
    const newGate = deferred();
    const fresh = [sf.execute('k', () => newGate.promise), sf.execute('k', () => 'must not run')];
    oldGate.resolve('old');
    await expect(old).resolves.toBe('old');
    expect(sf.isInFlight('k')).toBe(true);
    newGate.resolve('new');
    await expect(Promise.all(fresh)).resolves.toEqual(['new', 'new']);
    expect(() => sf.forget(3)).toThrow(TypeError);
  });
});

describe('call options are validated', () => {
  const sf = new Singleflight();
  test.each([
    ['null', null, /call options must be an object/],
    ['a string', 'signal', /call options must be an object/],
    ['a non-signal', { signal: {} }, /"signal" must be an AbortSignal/],
    ['an unknown option', { signl: new AbortController().signal }, /Unknown Singleflight call option "signl"/],
  ])('%s is a TypeError', (_label, options, message) => {
    expect(() => sf.execute('k', () => 1, options)).toThrow(TypeError);
    expect(() => sf.execute('k', () => 1, options)).toThrow(message);
    expect(() => sf.do('k', () => 1, options)).toThrow(message);
  });
});
