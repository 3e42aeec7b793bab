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
  singleflights?: ReadonlyArray<{
    readonly name: string | undefined;
    getStats(): SingleflightStats;
    /** Needed unless `histograms: false`. */
    enableTimings?(): void;
  }>;
  /** FlightCaches to report. */
  caches?: ReadonlyArray<{ readonly name: string | undefined; stats(): FlightCacheStats }>;
  /** Prefix of every metric name. Default 'threadflight_'. */
  prefix?: string;
  /**
   * Whether to turn the singleflights' timings on (Singleflight.enableTimings(): process-wide
   * for a name) and report them as the histograms `…work_duration_seconds` and
   * `…wait_duration_seconds` (buckets from 1 ms to 10 s). Default true.
   */
  histograms?: boolean;
}

/**
 * Registers threadflight's metrics on `registry`: counters (`…_total`, since the name's table or
 * cache was created), gauges and histograms, read from getStats() / stats() when the registry is scraped —
 * so for a named instance or cache, a scrape served by any thread reports the whole process.
 * Labels: `name`, and `scope`, `outcome` or `reason` where a metric is split; never a key.
 * Returns the names registered.
 * @throws TypeError naming the option.
 */
export declare function threadflightMetrics(options: ThreadflightMetricsOptions): string[];
