// threadflight: request coalescing for Node.js with a process-global native core.
export { Singleflight, MAX_KEY_LENGTH } from './singleflight';
export type { SingleflightStats, Work } from './singleflight';
export type { SingleflightOptions } from './options';
export { TooManySubscribersError, FlightTimeoutError, FlightCapacityError } from './errors';
