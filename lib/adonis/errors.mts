// What the coalesce middleware throws for threadflight's own errors: AdonisJS exceptions with a
// status and a code, so that the app's exception handler renders them (or reports them) as it
// renders any other; the original error is their cause.
import { Exception } from '@adonisjs/core/exceptions';

/** The flight this request waited for ran longer than maxDuration: 504. */
export class FlightTimeoutException extends Exception {
  static override status = 504;
  static override code = 'E_FLIGHT_TIMEOUT';
}

/** The flight this request would join already has maxSubscribers requests: 503, with Retry-After. */
export class FlightFullException extends Exception {
  static override status = 503;
  static override code = 'E_TOO_MANY_SUBSCRIBERS';
}
