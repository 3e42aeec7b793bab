// The diagnostics_channel TracingChannel 'threadflight:execute': a subscriber hears each
// execute()'s start, end, asyncStart/asyncEnd or error, with the caller's role.
const diagnosticsChannel = require('node:diagnostics_channel');
const { Worker } = require('node:worker_threads');
const { Singleflight, FlightTimeoutError } = require('../..');

const channel = diagnosticsChannel.tracingChannel('threadflight:execute');
let unique = 0;
const uniqueName = (label) => `tracing-${label}-${process.pid}-${unique++}`;

/** Subscribes for the test; `events` lists [event, role, result or error] per call. */
function listen() {
  const events = [];
  const handlers = {
    start: (c) => events.push(['start', c]),
    end: (c) => events.push(['end', c.role]),
    asyncStart: (c) => events.push(['asyncStart', c.role, c.result]),
    asyncEnd: (c) => events.push(['asyncEnd', c.role]),
    error: (c) => events.push(['error', c.role, c.error]),
  };
  channel.subscribe(handlers);
  return { events, stop: () => channel.unsubscribe(handlers) };
}

let listening;
afterEach(() => listening?.stop());

test('a leader and a follower: start, end, asyncStart and asyncEnd each, with their roles', async () => {
  listening = listen();
  const sf = new Singleflight({ name: uniqueName('roles') });
  let open;
  const gate = new Promise((resolve) => (open = resolve));
  const calls = [sf.execute('k', () => gate), sf.execute('k', () => gate)];
  open('v');
  await Promise.all(calls);
  const { events } = listening;
  expect(events.map(([event, role]) => (event === 'start' ? 'start' : `${event}:${role}`))).toEqual([
    'start',
    'end:leader',
    'start',
    'end:follower',
    'asyncStart:leader',
    'asyncEnd:leader',
    'asyncStart:follower',
    'asyncEnd:follower',
  ]);
  const context = events[0][1];
  expect(context).toMatchObject({ name: sf.name, key: undefined, thread: 0 });
  expect(events[4][2]).toBe('v');
});

test('keys are in the context only with traceKeys: true', async () => {
  listening = listen();
  await new Singleflight({ traceKeys: true }).execute('user:1', () => 1);
  await new Singleflight().execute('user:2', () => 2);
  const keys = listening.events.filter(([event]) => event === 'start').map(([, c]) => c.key);
  expect(keys).toEqual(['user:1', undefined]);
  expect(() => new Singleflight({ traceKeys: 'yes' })).toThrow(/"traceKeys" must be a boolean/);
});

test("errors: the work's, a timeout and an abort each reach the error event", async () => {
  listening = listen();
  const sf = new Singleflight({ maxDuration: 30 });
  const boom = new Error('boom');
  await expect(sf.execute('e', () => Promise.reject(boom))).rejects.toBe(boom);
  await expect(sf.execute('t', () => new Promise(() => {}))).rejects.toBeInstanceOf(FlightTimeoutError);
  const controller = new AbortController();
  const leaving = sf.execute('a', () => new Promise(() => {}), { signal: controller.signal });
  controller.abort();
  await expect(leaving).rejects.toMatchObject({ name: 'AbortError' });
  const errors = listening.events.filter(([event]) => event === 'error').map(([, role, error]) => [role, error.name]);
  expect(errors).toEqual([
    ['leader', 'Error'],
    ['leader', 'FlightTimeoutError'],
    ['leader', 'AbortError'],
  ]);
});

test('a caller in another thread joining a flight led here is a remote follower there', async () => {
  const name = uniqueName('remote');
  const sf = new Singleflight({ name });
  let open;
  const gate = new Promise((resolve) => (open = resolve));
  const mine = sf.execute('k', () => gate);
  const worker = new Worker(
    `const dc = require('node:diagnostics_channel');
     const { parentPort, workerData } = require('node:worker_threads');
     const { Singleflight } = require(workerData.root);
     const roles = [];
     dc.tracingChannel('threadflight:execute').subscribe({
       start() {}, end: (c) => roles.push(c.role), asyncStart() {}, asyncEnd() {}, error() {},
     });
     const sf = new Singleflight({ name: workerData.name });
     const joined = sf.execute('k', () => 'never');
     parentPort.postMessage('joined');
     joined.then(() => parentPort.postMessage(roles));`,
    { eval: true, workerData: { name, root: require.resolve('../..') } },
  );
  try {
    await new Promise((resolve) => worker.once('message', resolve));
    while (sf.getStats().totalSubscribers < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    open('v');
    await mine;
    expect(await new Promise((resolve) => worker.once('message', resolve))).toEqual(['remote-follower']);
  } finally {
    await worker.terminate();
  }
});

test('traced, work keeps its arity: none for a zero-parameter work, the signal for one that takes it', async () => {
  listening = listen();
  const sf = new Singleflight();
  let none;
  let one;
  await sf.execute('a', function zero() {
    none = arguments.length;
  });
  await sf.execute('b', (signal) => {
    one = signal;
  });
  expect(none).toBe(0);
  expect(one).toBeInstanceOf(AbortSignal);
});

test('once the last subscriber is gone, nothing is traced', async () => {
  listening = listen();
  listening.stop();
  expect(channel.hasSubscribers).toBe(false);
  await new Singleflight().execute('k', () => 1);
  expect(listening.events).toEqual([]);
});

test('a caller turned away (maxSubscribers) or whose signal aborted already has no role: it joined nothing', async () => {
  listening = listen();
  const sf = new Singleflight({ maxSubscribers: 1 });
  let open;
  const leading = sf.execute('k', () => new Promise((resolve) => (open = resolve)));
  await expect(sf.execute('k', () => 'never')).rejects.toMatchObject({ code: 'ERR_TOO_MANY_SUBSCRIBERS' });
  await expect(sf.execute('j', () => 'never', { signal: AbortSignal.abort() })).rejects.toMatchObject({
    name: 'AbortError',
  });
  open('v');
  await leading;
  const errors = listening.events.filter(([event]) => event === 'error').map(([, role, error]) => [role, error.name]);
  expect(errors).toEqual([
    [undefined, 'TooManySubscribersError'],
    [undefined, 'AbortError'],
  ]);
});
