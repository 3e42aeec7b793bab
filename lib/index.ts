// threadflight: request coalescing for Node.js, across all worker_threads of a process.
export { Singleflight } from './singleflight';
export type { SingleflightStats, Work, CallOptions, FlightReport } from './singleflight';
export { MAX_KEY_LENGTH } from './options';
export type { SingleflightOptions } from './options';
export {
  ThreadflightError,
  TooManySubscribersError,
  FlightTimeoutError,
  FlightCapacityError,
  OptionsMismatchError,
  CacheValueError,
} from './errors';
export type { Coordinator, DistributedFlight, CacheTier, CacheTierOptions, TierRead } from './distributed';
export { FlightCache } from './cache/flight-cache';
export type { Factory, FactoryContext, FlightCacheStats } from './cache/flight-cache';
export type { FlightCacheOptions, GetOrSetOptions, CacheStatus, TtlOption } from './cache/options';
export type { Duration } from './cache/duration';
export type { ExecuteContext, Role } from './tracing';
export type { TimeHistogram } from './timings';
