// threadflight/prometheus: collectors for a prom-client registry the application passes. Values
// are read when the registry is scraped, from getStats() / stats(): for a named instance or
// cache those describe the whole process, so a scrape served by any thread reports every
// thread's flights. Labels: the instance's name and a small fixed set — never a key.

import type { FlightCacheStats } from '../cache/flight-cache';
import type { TableStats } from '../table';
import type { TimeHistogram } from '../timings';

/** The parts of prom-client used here (its Registry, Counter and Gauge classes). */
export interface PromClient {
  Counter: new (configuration: MetricConfiguration) => unknown;
  Gauge: new (configuration: MetricConfiguration) => unknown;
}

interface MetricConfiguration {
  name: string;
  help: string;
  labelNames: string[];
  registers: unknown[];
  collect(this: Settable): void;
}

interface Settable {
  reset(): void;
  set(labels: Record<string, string>, value: number): void;
  inc(labels: Record<string, string>, value: number): void;
}

/** What is measured: Singleflight instances (getStats()) and FlightCaches (stats()). */
export interface ThreadflightMetricsOptions {
  /** prom-client's module (`require('prom-client')`): the metrics are its own classes. */
  client: PromClient;
  /** The registry to register on (e.g. `client.register`). */
  registry: unknown;
  singleflights?: ReadonlyArray<{ readonly name: string | undefined; getStats(): TableStats; enableTimings?(): void }>;
  caches?: ReadonlyArray<{ readonly name: string | undefined; stats(): FlightCacheStats }>;
  /** Prefix of every metric name. Default 'threadflight_'. */
  prefix?: string;
  /** Whether to turn the singleflights' timings on and report them as histograms. Default true. */
  histograms?: boolean;
}

/** A metric as prom-client's Registry reads it (registerMetric). */
interface CustomMetric {
  name: string;
  help: string;
  type: 'histogram';
  aggregator: 'sum';
  get(): { name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Sample[] };
  reset(): void;
}

interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName: string;
}

type Reading<S> = (stats: S) => Array<[Record<string, string>, number]>;

function fail(option: string, expected: string): never {
  throw new TypeError(`threadflightMetrics() option "${option}" must be ${expected}`);
}

/**
 * Registers threadflight's metrics on `registry`. Counters end in `_total` (monotonic since the
 * name's table or store was created); gauges describe now. Returns the metric names.
 * @throws TypeError naming the option.
 */
export function threadflightMetrics(options: ThreadflightMetricsOptions): string[] {
  if (typeof options !== 'object' || options === null) fail('options', 'an object');
  const { client, registry } = options;
  if (typeof client?.Counter !== 'function' || typeof client.Gauge !== 'function') {
    fail('client', "prom-client's module (require('prom-client'))");
  }
  if (typeof registry !== 'object' || registry === null) fail('registry', 'a prom-client Registry');
  const prefix = options.prefix ?? 'threadflight_';
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    fail('prefix', 'a valid metric name prefix');
  }
  const histograms = options.histograms ?? true;
  if (typeof histograms !== 'boolean') fail('histograms', 'a boolean');
  if (histograms && typeof (registry as { registerMetric?: unknown }).registerMetric !== 'function') {
    fail('registry', 'a prom-client Registry');
  }
  // A name's stats describe the whole process: an instance of a name already listed adds nothing.
  const singleflights = distinct(options.singleflights ?? []);
  const caches = distinct(options.caches ?? []);
  if (histograms && singleflights.some((sf) => typeof sf?.enableTimings !== 'function')) {
    fail('singleflights', 'Singleflight instances (with enableTimings(); or pass histograms: false)');
  }
  const names: string[] = [];
  const label = (instance: { name: string | undefined }): string => instance.name ?? '';

  const metric = <S>(
    kind: 'Counter' | 'Gauge',
    name: string,
    help: string,
    extraLabels: string[],
    sources: ReadonlyArray<{ name: string | undefined; read(): S }>,
    reading: Reading<S>,
  ): void => {
    if (sources.length === 0) return;
    const fullName = `${prefix}${name}`;
    names.push(fullName);
    new client[kind]({
      name: fullName,
      help,
      labelNames: ['name', ...extraLabels],
      registers: [registry],
      collect(this: Settable) {
        this.reset();
        for (const source of sources) {
          for (const [labels, value] of reading(source.read())) {
            const all = { name: label(source), ...labels };
            if (kind === 'Gauge') this.set(all, value);
            else this.inc(all, value);
          }
        }
      },
    });
  };

  const flights = singleflights.map((sf) => ({ name: sf.name, read: () => sf.getStats() }));
  metric('Counter', 'flights_started_total', 'Flights whose work ran in this process.', [], flights, (s) => [
    [{}, s.flightsStarted],
  ]);
  metric(
    'Counter',
    'callers_joined_total',
    'Callers served by a flight they did not start, by where it ran (scope).',
    ['scope'],
    flights,
    (s) => [
      [{ scope: 'same_thread' }, s.joinedSameThread],
      [{ scope: 'other_thread' }, s.joinedOtherThread],
    ],
  );
  metric(
    'Counter',
    'flights_served_by_other_process_total',
    "Flights of this process answered by another process's work.",
    [],
    flights,
    (s) => [[{}, s.servedByOtherProcess]],
  );
  metric(
    'Counter',
    'callers_failed_total',
    'Callers and flights that ended badly, by outcome.',
    ['outcome'],
    flights,
    (s) => [
      [{ outcome: 'work_error' }, s.workErrors],
      [{ outcome: 'timeout' }, s.timeouts],
      [{ outcome: 'rejected' }, s.rejected],
      [{ outcome: 'aborted' }, s.aborted],
    ],
  );
  metric('Counter', 'takeovers_total', "Flights led here after their leader's thread was gone.", [], flights, (s) => [
    [{}, s.takeovers],
  ]);
  metric('Counter', 'clone_failures_total', 'Results that could not be cloned to other threads.', [], flights, (s) => [
    [{}, s.cloneFailures],
  ]);
  if (histograms && flights.length > 0) {
    for (const sf of singleflights) sf.enableTimings?.();
    const histogram = (name: string, help: string, read: (stats: TableStats) => TimeHistogram): void => {
      const fullName = `${prefix}${name}`;
      names.push(fullName);
      (registry as { registerMetric(metric: CustomMetric): void }).registerMetric(
        histogramMetric(fullName, help, () => byLabel(flights.map((source) => [label(source), read(source.read())]))),
      );
    };
    histogram('work_duration_seconds', 'Seconds each run of work took, to its value or error.', (s) => s.executionTime);
    histogram('wait_duration_seconds', 'Seconds each caller waited for its answer.', (s) => s.waitTime);
  }
  metric('Gauge', 'flights_in_flight', 'Flights in the air that a new caller would join.', [], flights, (s) => [
    [{}, s.inFlightCount],
  ]);
  metric('Gauge', 'callers_waiting', 'Callers waiting on those flights, leaders included.', [], flights, (s) => [
    [{}, s.totalSubscribers],
  ]);
  metric(
    'Gauge',
    'oldest_flight_age_seconds',
    'Age of the oldest flight in the air (0 when none).',
    [],
    flights,
    (s) => [[{}, (s.oldestCallAge ?? 0) / 1000]],
  );

  const stores = caches.map((cache) => ({ name: cache.name, read: () => cache.stats() }));
  metric('Counter', 'cache_requests_total', 'Cache calls, by what memory had (outcome).', ['outcome'], stores, (s) => [
    [{ outcome: 'hit' }, s.hits],
    [{ outcome: 'stale' }, s.staleHits],
    [{ outcome: 'miss' }, s.misses],
  ]);
  metric('Counter', 'cache_factory_runs_total', 'Factory runs.', [], stores, (s) => [[{}, s.factoryRuns]]);
  metric('Counter', 'cache_factory_errors_total', 'Factory runs that threw or rejected.', [], stores, (s) => [
    [{}, s.factoryErrors],
  ]);
  metric('Counter', 'cache_tier_hits_total', 'Misses answered by the second tier (Redis).', [], stores, (s) => [
    [{}, s.tierHits],
  ]);
  metric('Counter', 'cache_removals_total', 'Entries removed, by reason.', ['reason'], stores, (s) => [
    [{ reason: 'evicted' }, s.evictions],
    [{ reason: 'expired' }, s.expirations],
  ]);
  metric('Gauge', 'cache_entries', 'Entries held.', [], stores, (s) => [[{}, s.entries]]);
  metric('Gauge', 'cache_bytes', 'Bytes held.', [], stores, (s) => [[{}, s.bytes]]);
  return names;
}

/** The instances, an instance of a name already listed left out (unnamed ones all kept). */
function distinct<I extends { readonly name: string | undefined }>(instances: ReadonlyArray<I>): I[] {
  const seen = new Set<string>();
  return instances.filter((instance) => {
    const name = instance?.name;
    if (name === undefined) return true;
    if (seen.has(name)) return false;
    seen.add(name);
    return true;
  });
}

/** One histogram per label: those sharing one (unnamed instances, all labelled '') summed —
 * a series may appear once in an exposition. */
function byLabel(histograms: Array<[string, TimeHistogram]>): Array<[string, TimeHistogram]> {
  const merged = new Map<string, TimeHistogram>();
  for (const [instance, histogram] of histograms) {
    const into = merged.get(instance);
    if (into === undefined) {
      merged.set(instance, {
        count: histogram.count,
        sum: histogram.sum,
        buckets: histogram.buckets.map((b) => ({ ...b })),
      });
      continue;
    }
    into.count += histogram.count;
    into.sum += histogram.sum;
    histogram.buckets.forEach((bucket, i) => (into.buckets[i].count += bucket.count));
  }
  return [...merged];
}

/** A histogram whose buckets are kept elsewhere (the lanes), read when the registry is scraped. */
function histogramMetric(name: string, help: string, read: () => Array<[string, TimeHistogram]>): CustomMetric {
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const values: Sample[] = [];
      for (const [instance, histogram] of read()) {
        for (const bucket of histogram.buckets) {
          const le = bucket.le === Infinity ? '+Inf' : bucket.le;
          values.push({ value: bucket.count, labels: { le, name: instance }, metricName: `${name}_bucket` });
        }
        values.push({ value: histogram.sum, labels: { name: instance }, metricName: `${name}_sum` });
        values.push({ value: histogram.count, labels: { name: instance }, metricName: `${name}_count` });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
    reset() {
      // Nothing to reset: the values are the instances' own, read afresh at every scrape.
    },
  };
}
