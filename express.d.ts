// Public types of threadflight/express: request coalescing as Express (4 and 5) middleware.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Coordinator, Duration } from './index';

export interface CoalesceOptions {
  /**
   * Shares flights process-wide (see SingleflightOptions.name): requests in every worker_thread
   * of the process with the same key share one handler run. Without a name, only requests in
   * this thread share. A named response crosses threads as a copy of its bytes.
   */
  name?: string;
  /** Milliseconds the leader's handler may take: waiting followers then get a 504 (FlightTimeoutError). Default 30000. */
  maxDuration?: number;
  /** Requests one flight may serve; more are answered 503 with Retry-After (TooManySubscribersError). Default Infinity. */
  maxSubscribers?: number;
  /** Shares flights across processes (requires `name`): e.g. `redisCoordinator()` from threadflight/redis. */
  distributed?: Coordinator;
  /** Methods coalesced; others pass through. Default ['GET', 'HEAD']. */
  methods?: readonly string[];
  /**
   * Request headers the default key includes (lower-case names). Default accept,
   * accept-encoding, accept-language, origin; if-none-match, if-modified-since, host, forwarded,
   * x-forwarded-host and x-forwarded-proto are always included. A response whose `Vary` names
   * another header is not shared.
   */
  vary?: readonly string[];
  /**
   * The key of a request, in place of the default (method, raw path, sorted raw query, host,
   * `vary` headers); undefined: do not coalesce this request. Requests carrying
   * `Authorization`, `Cookie` or `Range` are coalesced only through this function, whose key
   * must then say who asks — and everything else the response depends on.
   */
  key?: (req: IncomingMessage) => string | undefined;
  /** Largest body shared, in bytes; a larger response is not shared (followers run the handler). Default 1 MiB. */
  maxBytes?: number;
  /** Keeps shared responses for a while (a micro-cache, through FlightCache): later identical requests are answered from it. */
  cache?: { ttl: Duration; grace?: Duration | false };
}

/** What every handler behind coalesce() finds in `res.locals.threadflight`. */
export interface FlightLocals {
  /** The request's key; undefined when it is not coalesced. */
  readonly key: string | undefined;
  /** Aborts when nobody waits for this response any more: for a leader, every client of its
   * flight; otherwise, this request's client. */
  readonly signal: AbortSignal;
}

export type CoalesceMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * Middleware that coalesces concurrent identical requests: `app.get(path, coalesce(options), handler)`.
 *
 * The first request of a key (the leader) runs the route's handlers; requests arriving while it
 * runs (followers) wait, and get the leader's response — its status, headers and body bytes —
 * unless it cannot be shared: a response that sets a cookie, is `Cache-Control: private` or
 * `no-store`, varies on `*`, is larger than `maxBytes`, or is streamed in parts (`res.write`,
 * `flushHeaders`, server-sent events) is not, and each follower then runs the handlers itself.
 * `Set-Cookie` and hop-by-hop headers are never replayed.
 *
 * When the leader's handler fails (throws, rejects, or calls `next(err)`), its error goes
 * through Express's error path for the leader and for every follower (`next(err)` in each
 * request). FlightTimeoutError reaches followers with `status` 504 and TooManySubscribersError
 * with 503 and a `Retry-After` header (Express renders those unless the app handles them).
 * A client that disconnects leaves the flight; when none is left, `res.locals.threadflight.signal`
 * aborts in the leader's handler.
 *
 * @throws TypeError or RangeError naming the option.
 */
export declare function coalesce(options?: CoalesceOptions): CoalesceMiddleware;

/** The request headers the default key varies on. */
export declare const DEFAULT_VARY: readonly string[];
