// Review of threadflight/prometheus' histograms: one series per label set, whatever instances
// are listed; nothing registered when an option is refused; prom-client's other readers.
const client = require('prom-client');
const { Singleflight } = require('../..');
const { threadflightMetrics } = require('../../dist/prometheus');

let unique = 0;
const uniqueName = (label) => `prom-review-${label}-${process.pid}-${unique++}`;

/** The sample lines of `metric` (e.g. `x_count`) in a text exposition. */
const samples = (text, metric) => text.split('\n').filter((line) => line.startsWith(`${metric}{`));

test('two unnamed instances: one series per label set, their observations summed', async () => {
  const registry = new client.Registry();
  const a = new Singleflight();
  const b = new Singleflight();
  threadflightMetrics({ client, registry, singleflights: [a, b] });
  await Promise.all([a.execute('k', () => 1), b.execute('k', () => 1), b.execute('j', () => 1)]);
  const text = await registry.metrics();
  expect(samples(text, 'threadflight_work_duration_seconds_count')).toEqual([
    'threadflight_work_duration_seconds_count{name=""} 3',
  ]);
  expect(samples(text, 'threadflight_wait_duration_seconds_bucket').length).toBe(14);
  expect(samples(text, 'threadflight_flights_started_total')).toEqual([
    'threadflight_flights_started_total{name=""} 3',
  ]);
});

test('a name listed twice (two instances of it) is reported once: its stats are the whole process', async () => {
  const registry = new client.Registry();
  const name = uniqueName('twice');
  const a = new Singleflight({ name });
  const b = new Singleflight({ name });
  threadflightMetrics({ client, registry, singleflights: [a, b] });
  await a.execute('k', () => 1);
  const text = await registry.metrics();
  expect(samples(text, 'threadflight_work_duration_seconds_count')).toEqual([
    `threadflight_work_duration_seconds_count{name="${name}"} 1`,
  ]);
  expect(samples(text, 'threadflight_flights_started_total')).toEqual([
    `threadflight_flights_started_total{name="${name}"} 1`,
  ]);
});

test('an instance without enableTimings(): a TypeError naming the option, and nothing registered', () => {
  const registry = new client.Registry();
  const sf = new Singleflight();
  const wrapper = { name: 'wrapped', getStats: () => sf.getStats() };
  expect(() => threadflightMetrics({ client, registry, singleflights: [wrapper] })).toThrow(
    /threadflightMetrics\(\) option "singleflights"/,
  );
  expect(registry.getMetricsAsArray()).toEqual([]);
  // Still usable without histograms.
  expect(threadflightMetrics({ client, registry, singleflights: [wrapper], histograms: false }).length).toBeGreaterThan(
    0,
  );
});

describe("prom-client's other readers of the histograms", () => {
  const registryWith = async (contentType) => {
    const registry = new client.Registry(contentType);
    const sf = new Singleflight({ name: uniqueName('readers') });
    threadflightMetrics({ client, registry, singleflights: [sf] });
    await Promise.all([sf.execute('k', () => 1), sf.execute('k', () => 1)]);
    return { registry, sf };
  };

  test('getMetricsAsJSON with default labels; resetMetrics leaves the values', async () => {
    const { registry, sf } = await registryWith();
    registry.setDefaultLabels({ app: 'api' });
    const json = await registry.getMetricsAsJSON();
    const wait = json.find((m) => m.name === 'threadflight_wait_duration_seconds');
    expect(wait).toMatchObject({ type: 'histogram', aggregator: 'sum' });
    expect(wait.values).toContainEqual({
      value: 2,
      labels: { name: sf.name, app: 'api' },
      metricName: 'threadflight_wait_duration_seconds_count',
    });
    expect(await registry.metrics()).toContain(
      `threadflight_wait_duration_seconds_bucket{le="+Inf",name="${sf.name}",app="api"} 2`,
    );
    registry.resetMetrics();
    expect(await registry.metrics()).toContain(
      `threadflight_wait_duration_seconds_count{name="${sf.name}",app="api"} 2`,
    );
  });

  test('OpenMetrics', async () => {
    const { registry, sf } = await registryWith(client.Registry.OPENMETRICS_CONTENT_TYPE);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE threadflight_wait_duration_seconds histogram');
    expect(text).toContain(`threadflight_wait_duration_seconds_count{name="${sf.name}"} 2`);
    expect(text.endsWith('# EOF\n')).toBe(true);
  });

  test('Registry.merge and AggregatorRegistry.aggregate (cluster)', async () => {
    const { registry, sf } = await registryWith();
    const merged = client.Registry.merge([registry, new client.Registry()]);
    expect(await merged.metrics()).toContain(`threadflight_wait_duration_seconds_count{name="${sf.name}"} 2`);
    const json = await registry.getMetricsAsJSON();
    const aggregated = client.AggregatorRegistry.aggregate([json, json]);
    const text = await aggregated.metrics();
    expect(text).toContain(`threadflight_wait_duration_seconds_count{name="${sf.name}"} 4`);
    expect(text).toContain(`threadflight_wait_duration_seconds_bucket{le="+Inf",name="${sf.name}"} 4`);
  });

  test('registering twice on one registry is refused, as for the counters', async () => {
    const { registry, sf } = await registryWith();
    expect(() => threadflightMetrics({ client, registry, singleflights: [sf] })).toThrow(/already been registered/);
  });
});
