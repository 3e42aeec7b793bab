// Public types of threadflight/prometheus: threadflight's metrics on a prom-client registry.
import type { FlightCacheStats, SingleflightStats } from './index';

/** The parts of prom-client used (pass the module: `require('prom-client')`). */
export interface PromClient {
  Counter: new (configuration: never) => unknown;
  Gauge: new (configuration: never) => unknown;
}

export interface ThreadflightMetricsOptions {
  /** prom-client's module: the metrics are made with its own classes. */
  client: PromClient;
  /** The registry to register on (e.g. `client.register`). */
  registry: unknown;
  /** Singleflight instances to report (by their `name` label; '' for an unnamed one). */
  singleflights?: ReadonlyArray<{ readonly name: string | undefined; getStats(): SingleflightStats }>;
  /** FlightCaches to report. */
  caches?: ReadonlyArray<{ readonly name: string | undefined; stats(): FlightCacheStats }>;
  /** Prefix of every metric name. Default 'threadflight_'. */
  prefix?: string;
}

/**
 * Registers threadflight's metrics on `registry`: counters (`…_total`, since the name's table or
 * cache was created) and gauges, read from getStats() / stats() when the registry is scraped —
 * so for a named instance or cache, a scrape served by any thread reports the whole process.
 * Labels: `name`, and `scope`, `outcome` or `reason` where a metric is split; never a key.
 * Returns the names registered.
 * @throws TypeError naming the option.
 */
export declare function threadflightMetrics(options: ThreadflightMetricsOptions): string[];
