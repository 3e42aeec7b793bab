// threadflight: request coalescing for Node.js, across all worker_threads of a process.
export { Singleflight, MAX_KEY_LENGTH } from './singleflight';
export type { SingleflightStats, Work, CallOptions } from './singleflight';
export type { SingleflightOptions } from './options';
export {
  TooManySubscribersError,
  FlightTimeoutError,
  FlightCapacityError,
  OptionsMismatchError,
} from './errors';
