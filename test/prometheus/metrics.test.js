// threadflight/prometheus with a real prom-client registry: the values read at scrape time, so
// a worker that did no work scrapes the main thread's flights of a name; names, labels, units.
const { Worker } = require('node:worker_threads');
const client = require('prom-client');
const { Singleflight, FlightCache } = require('../..');
const { threadflightMetrics } = require('../../dist/prometheus');

let unique = 0;
const uniqueName = (label) => `prom-${label}-${process.pid}-${unique++}`;

/** The value of `metric` with these labels in a registry's text exposition. */
function valueOf(text, metric, labels) {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  const line = text.split('\n').find((l) => l.startsWith(`${metric}{`) && l.includes(wanted));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

test('counters and gauges of instances and caches, read at scrape time', async () => {
  const registry = new client.Registry();
  const sf = new Singleflight({ name: uniqueName('sf') });
  const cache = new FlightCache({ name: uniqueName('cache') });
  const names = threadflightMetrics({ client, registry, singleflights: [sf], caches: [cache] });
  expect(names.every((n) => n.startsWith('threadflight_'))).toBe(true);
  expect(names.filter((n) => n.endsWith('_total')).length).toBeGreaterThan(5);

  let open;
  const gate = new Promise((resolve) => (open = resolve));
  const calls = [sf.execute('k', () => gate), sf.execute('k', () => gate)];
  let text = await registry.metrics();
  expect(valueOf(text, 'threadflight_flights_in_flight', { name: sf.name })).toBe(1);
  expect(valueOf(text, 'threadflight_callers_waiting', { name: sf.name })).toBe(2);
  open(1);
  await Promise.all(calls);
  await sf.execute('e', () => Promise.reject(new Error('x'))).catch(() => {});
  await cache.getOrSet('a', () => 1);
  await cache.getOrSet('a', () => 1);
  text = await registry.metrics();
  expect(valueOf(text, 'threadflight_flights_started_total', { name: sf.name })).toBe(2);
  expect(valueOf(text, 'threadflight_callers_joined_total', { name: sf.name, scope: 'same_thread' })).toBe(1);
  expect(valueOf(text, 'threadflight_callers_failed_total', { name: sf.name, outcome: 'work_error' })).toBe(1);
  expect(valueOf(text, 'threadflight_flights_in_flight', { name: sf.name })).toBe(0);
  expect(valueOf(text, 'threadflight_cache_requests_total', { name: cache.name, outcome: 'hit' })).toBe(1);
  expect(valueOf(text, 'threadflight_cache_requests_total', { name: cache.name, outcome: 'miss' })).toBe(1);
  expect(valueOf(text, 'threadflight_cache_entries', { name: cache.name })).toBe(1);
  expect(text).toMatch(/# TYPE threadflight_flights_started_total counter/);
  expect(text).not.toMatch(/"k"|key=/); // keys are never labels
});

test("a worker that did no work scrapes the main thread's flights of the name", async () => {
  const name = uniqueName('worker');
  const sf = new Singleflight({ name });
  let open;
  const gate = new Promise((resolve) => (open = resolve));
  const pending = [sf.execute('a', () => gate), sf.execute('b', () => gate), sf.execute('b', () => gate)];
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const client = require('prom-client');
     const { Singleflight } = require(workerData.root);
     const { threadflightMetrics } = require(workerData.prometheus);
     const registry = new client.Registry();
     threadflightMetrics({ client, registry, singleflights: [new Singleflight({ name: workerData.name })] });
     const scrape = () => registry.metrics().then((text) => parentPort.postMessage(text));
     parentPort.on('message', scrape);
     scrape();`,
    {
      eval: true,
      workerData: { name, root: require.resolve('../..'), prometheus: require.resolve('../../dist/prometheus') },
    },
  );
  const scraped = () => new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
  try {
    let text = await scraped();
    expect(valueOf(text, 'threadflight_flights_in_flight', { name })).toBe(2);
    expect(valueOf(text, 'threadflight_callers_waiting', { name })).toBe(3);
    expect(valueOf(text, 'threadflight_flights_started_total', { name })).toBe(2);
    open(1);
    await Promise.all(pending);
    worker.postMessage('scrape');
    text = await scraped();
    // Joined callers are counted when their flight ends.
    expect(valueOf(text, 'threadflight_callers_joined_total', { name, scope: 'same_thread' })).toBe(1);
    expect(valueOf(text, 'threadflight_flights_in_flight', { name })).toBe(0);
  } finally {
    open(1);
    await Promise.all(pending);
    await worker.terminate();
  }
});

test('bad options are a TypeError naming the option', () => {
  expect(() => threadflightMetrics({ client: {}, registry: new client.Registry() })).toThrow(/"client"/);
  expect(() => threadflightMetrics({ client, registry: null })).toThrow(/"registry"/);
  expect(() => threadflightMetrics({ client, registry: new client.Registry(), prefix: '1bad' })).toThrow(/"prefix"/);
});

test('histograms: work and wait seconds, turned on process-wide by a worker that only scrapes', async () => {
  const name = uniqueName('histograms');
  const sf = new Singleflight({ name });
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const client = require('prom-client');
     const { Singleflight } = require(workerData.root);
     const { threadflightMetrics } = require(workerData.prometheus);
     const registry = new client.Registry();
     threadflightMetrics({ client, registry, singleflights: [new Singleflight({ name: workerData.name })] });
     parentPort.postMessage('registered');
     parentPort.on('message', () => registry.metrics().then((text) => parentPort.postMessage(text)));`,
    {
      eval: true,
      workerData: { name, root: require.resolve('../..'), prometheus: require.resolve('../../dist/prometheus') },
    },
  );
  const next = () => new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
  try {
    await next();
    expect(sf.getStats().timings).toBe(true);
    let open;
    const gate = new Promise((resolve) => (open = resolve));
    const calls = [sf.execute('k', () => gate), sf.execute('k', () => gate)];
    await new Promise((resolve) => setTimeout(resolve, 30));
    open('v');
    await Promise.all(calls);
    worker.postMessage('scrape');
    const text = await next();
    const work = 'threadflight_work_duration_seconds';
    const wait = 'threadflight_wait_duration_seconds';
    expect(text).toMatch(new RegExp(`# TYPE ${work} histogram`));
    expect(valueOf(text, `${work}_count`, { name })).toBe(1);
    expect(valueOf(text, `${wait}_count`, { name })).toBe(2);
    expect(valueOf(text, `${work}_bucket`, { le: '0.01', name })).toBe(0);
    expect(valueOf(text, `${work}_bucket`, { le: '+Inf', name })).toBe(1);
    expect(valueOf(text, `${wait}_bucket`, { le: '+Inf', name })).toBe(2);
    expect(valueOf(text, `${work}_sum`, { name })).toBeGreaterThanOrEqual(0.025);
  } finally {
    await worker.terminate();
  }
});

test('histograms: false leaves timings off and registers no histogram', async () => {
  const registry = new client.Registry();
  const sf = new Singleflight({ name: uniqueName('no-histograms') });
  const names = threadflightMetrics({ client, registry, singleflights: [sf], histograms: false });
  expect(names.some((n) => n.includes('duration'))).toBe(false);
  expect(sf.getStats().timings).toBe(false);
  expect(() => threadflightMetrics({ client, registry, singleflights: [sf], histograms: 'yes' })).toThrow(
    /"histograms" must be a boolean/,
  );
});

test("a named cache's hits, stale hits, misses and evictions, counted in a worker, scraped in the main thread", async () => {
  const name = uniqueName('cache-worker');
  const options = { name, ttl: 40, grace: '1m', maxEntries: 1 };
  const cache = new FlightCache(options);
  const registry = new client.Registry();
  threadflightMetrics({ client, registry, caches: [cache] });
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const { FlightCache } = require(workerData.root);
     const cache = new FlightCache(workerData.options);
     const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
     (async () => {
       let runs = 0;
       const factory = async () => ++runs;
       await cache.getOrSet('a', factory); // miss
       await cache.getOrSet('a', factory); // hit
       await sleep(80);
       const status = {};
       await cache.getOrSet('a', factory, { status }); // stale, refreshed in the background
       while (runs < 2) await sleep(5);
       await sleep(20);
       await cache.getOrSet('b', factory); // miss; 'a' evicted (maxEntries 1)
       parentPort.postMessage(status.get);
     })();`,
    { eval: true, workerData: { options, root: require.resolve('../..') } },
  );
  try {
    const staleStatus = await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
    expect(staleStatus).toBe('stale');
    const text = await registry.metrics();
    expect(valueOf(text, 'threadflight_cache_requests_total', { name, outcome: 'hit' })).toBe(1);
    expect(valueOf(text, 'threadflight_cache_requests_total', { name, outcome: 'stale' })).toBe(1);
    expect(valueOf(text, 'threadflight_cache_requests_total', { name, outcome: 'miss' })).toBe(2);
    expect(valueOf(text, 'threadflight_cache_factory_runs_total', { name })).toBe(3);
    expect(valueOf(text, 'threadflight_cache_removals_total', { name, reason: 'evicted' })).toBe(1);
    expect(valueOf(text, 'threadflight_cache_entries', { name })).toBe(1);
  } finally {
    await worker.terminate();
  }
});
