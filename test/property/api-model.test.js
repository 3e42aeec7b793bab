// Property tests: random sequences of calls (with and without signals), aborts, work that
// resolves or rejects, forget(), clear() and — in the second property — time passing beyond
// maxDuration, run against the public API and against a small reference model of the
// semantics; after every step the callers' outcomes, the number of executions and the stats
// must agree.
const fc = require('fast-check');
const { Singleflight } = require('../..');

const flush = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const KEYS = ['a', 'b', 'c'];

class World {
  constructor(maxSubscribers, maxDuration = Infinity) {
    this.sf = new Singleflight({ maxSubscribers, maxDuration });
    this.maxSubscribers = maxSubscribers;
    this.works = []; // real executions: { key, resolve, reject, signal }
    this.flights = []; // model: { key, work: index in works, callers: [caller], attached, settled }
    this.callers = []; // { flight, controller, expect: 'pending' | {value} | {error}, actual }
  }

  attached(key) {
    return this.flights.find((f) => f.key === key && f.attached);
  }

  waiting(flight) {
    return flight.callers.filter((c) => c.expect === 'pending').length;
  }

  call(key, withSignal) {
    const controller = withSignal ? new AbortController() : undefined;
    const caller = { controller, expect: 'pending', actual: 'pending' };
    let flight = this.attached(key);
    if (flight && this.waiting(flight) === 0) {
      flight.attached = false; // doomed: everyone left
      flight = undefined;
    }
    if (flight && this.waiting(flight) >= this.maxSubscribers) {
      caller.expect = { error: 'ERR_TOO_MANY_SUBSCRIBERS' };
    } else {
      if (!flight) {
        flight = { key, work: this.works.length, callers: [], attached: true, settled: false };
        this.flights.push(flight);
      }
      flight.callers.push(caller);
      caller.flight = flight;
    }
    const work = (signal) => new Promise((resolve, reject) => this.works.push({ key, resolve, reject, signal }));
    this.sf.execute(key, work, controller ? { signal: controller.signal } : undefined).then(
      (value) => (caller.actual = { value }),
      (error) => (caller.actual = { error: typeof error?.code === 'string' ? error.code : (error?.name ?? error) }),
    );
    this.callers.push(caller);
  }

  abort(pick) {
    const open = this.callers.filter((c) => c.controller && c.expect === 'pending');
    if (open.length === 0) return;
    const caller = open[pick % open.length];
    caller.expect = { error: 'AbortError' };
    caller.controller.abort();
    const flight = caller.flight;
    if (this.waiting(flight) === 0) {
      flight.attached = false; // abandoned: the work's signal aborts
      flight.abandoned = true;
    }
  }

  settle(pick, ok) {
    // An expired flight's work may still finish: its late result must reach nobody.
    const open = this.flights.filter((f) => !f.settled && !f.abandoned);
    if (open.length === 0) return;
    const flight = open[pick % open.length];
    flight.settled = true;
    flight.attached = false;
    const value = `v${flight.work}`;
    if (!flight.expired)
      for (const c of flight.callers) if (c.expect === 'pending') c.expect = ok ? { value } : { error: value };
    if (ok) this.works[flight.work].resolve(value);
    else this.works[flight.work].reject(value);
  }

  forget(key) {
    const flight = this.attached(key);
    const expected = flight !== undefined && this.waiting(flight) > 0;
    const actual = this.sf.forget(key);
    if (flight) flight.attached = false;
    return { expected, actual };
  }

  clear() {
    this.sf.clear();
    for (const f of this.flights) f.attached = false;
  }

  /** Long past maxDuration: every flight with callers still waiting has expired. */
  expireAll() {
    for (const f of this.flights) {
      if (f.settled || f.abandoned || f.expired) continue;
      f.expired = true;
      f.attached = false;
      for (const c of f.callers) if (c.expect === 'pending') c.expect = { error: 'ERR_FLIGHT_TIMEOUT' };
    }
  }

  check() {
    expect(this.works.length).toBe(this.flights.length);
    for (const f of this.flights) {
      expect(this.works[f.work].key).toBe(f.key);
      if (f.abandoned || f.expired) expect(this.works[f.work].signal?.aborted ?? true).toBe(true);
    }
    for (const c of this.callers) expect(c.actual).toEqual(c.expect);
    const live = this.flights.filter((f) => f.attached && !f.expired && this.waiting(f) > 0);
    const stats = this.sf.getStats();
    expect(stats.inFlightCount).toBe(live.length);
    expect(stats.totalSubscribers).toBe(live.reduce((n, f) => n + this.waiting(f), 0));
    for (const key of KEYS) expect(this.sf.isInFlight(key)).toBe(live.some((f) => f.key === key));
  }

  async finish() {
    for (const f of this.flights)
      if (!f.settled && !f.abandoned)
        this.settle(this.flights.filter((g) => !g.settled && !g.abandoned).indexOf(f), true);
    await flush();
    this.check();
    expect(this.sf.getStats()).toMatchObject({ inFlightCount: 0, totalSubscribers: 0 });
  }
}

function apply(world, s) {
  if (s.op === 'call') world.call(s.key, s.signal);
  else if (s.op === 'abort') world.abort(s.pick);
  else if (s.op === 'settle') world.settle(s.pick, s.ok);
  else if (s.op === 'forget') {
    const { expected, actual } = world.forget(s.key);
    expect(actual).toBe(expected);
  } else world.clear();
}

const step = fc.oneof(
  fc.record({ op: fc.constant('call'), key: fc.constantFrom(...KEYS), signal: fc.boolean() }),
  fc.record({ op: fc.constant('abort'), pick: fc.nat(50) }),
  fc.record({ op: fc.constant('settle'), pick: fc.nat(50), ok: fc.boolean() }),
  fc.record({ op: fc.constant('forget'), key: fc.constantFrom(...KEYS) }),
  fc.record({ op: fc.constant('clear') }),
);

test('the API agrees with the reference model on random sequences', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.array(step, { maxLength: 40 }),
      async (maxSubscribers, steps) => {
        const world = new World(maxSubscribers);
        for (const s of steps) {
          apply(world, s);
          await flush();
          world.check();
        }
        await world.finish();
      },
    ),
    { numRuns: Number(process.env.PROPERTY_RUNS ?? 300) },
  );
}, 120_000);

// Time is real here (the clock is the core's), so each run is a few phases of quick steps with
// a pause past maxDuration between them. After a pause, every flight still waiting must time
// out (waited for with a hang guard, not a fixed deadline); within a phase, none may. A phase
// normally takes milliseconds; a run whose phase took more than half of maxDuration (a loaded
// machine) proves nothing about "none may" and is discarded rather than failed.
const MAX_DURATION = 200;
const PAUSE = 250;

async function untilTimedOut(world, guardMs) {
  const deadline = performance.now() + guardMs;
  const waiting = () => world.callers.some((c) => c.expect?.error === 'ERR_FLIGHT_TIMEOUT' && c.actual === 'pending');
  while (waiting() && performance.now() < deadline) await sleep(10);
}

test('timeouts agree with the reference model: expired callers fail, late results reach nobody', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.array(fc.array(step, { maxLength: 12 }), { minLength: 1, maxLength: 3 }),
      async (maxSubscribers, phases) => {
        const world = new World(maxSubscribers, MAX_DURATION);
        let phaseStart = performance.now();
        const check = () => {
          try {
            world.check();
          } catch (error) {
            fc.pre(performance.now() - phaseStart < MAX_DURATION / 2);
            throw error;
          }
        };
        for (const [i, phase] of phases.entries()) {
          if (i > 0) {
            await sleep(PAUSE);
            world.expireAll();
            await untilTimedOut(world, 10_000);
            await flush();
            world.check();
            phaseStart = performance.now();
          }
          for (const s of phase) {
            apply(world, s);
            await flush();
            check();
          }
        }
        for (const f of world.flights)
          if (!f.settled && !f.abandoned)
            world.settle(world.flights.filter((g) => !g.settled && !g.abandoned).indexOf(f), true);
        await flush();
        check();
        expect(world.sf.getStats()).toMatchObject({ inFlightCount: 0, totalSubscribers: 0 });
      },
    ),
    { numRuns: Number(process.env.PROPERTY_TIMEOUT_RUNS ?? 25) },
  );
}, 300_000);
