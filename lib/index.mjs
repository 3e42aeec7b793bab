// ES module entry: re-exports the CommonJS build, so both module systems share one instance.
import threadflight from '../dist/index.js';

export const {
  Singleflight,
  MAX_KEY_LENGTH,
  ThreadflightError,
  TooManySubscribersError,
  FlightTimeoutError,
  FlightCapacityError,
  OptionsMismatchError,
  CacheValueError,
  FlightCache,
} = threadflight;
export default threadflight;
