// threadflight/express: request coalescing as Express (4 and 5) middleware. Concurrent identical
// requests run the handler once; the leader's response — status, headers, body bytes — is
// replayed to every follower, in this thread, in other worker_threads (named) and in other
// processes (with a coordinator). See express.d.ts for the contract.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FlightCache } from '../cache/flight-cache';
import type { Coordinator } from '../distributed';
import { FlightTimeoutError, TooManySubscribersError } from '../errors';
import { coalescibleByDefault, defaultKey, DEFAULT_VARY, keyedHeaders, type Headers } from '../../lib/http-policy.cjs';
import { Singleflight } from '../singleflight';
import { capture, replay, type Outcome } from './capture';
import { runRestOfRoute, type Next } from './route';
import { resolveCoalesceOptions, type CoalesceOptions } from './options';

export type { CoalesceOptions } from './options';

type Request = IncomingMessage & { route?: unknown; originalUrl?: string; url?: string };
type Response = ServerResponse & { locals?: Record<string, unknown> };
export type Middleware = (req: Request, res: Response, next: Next) => void;

/** What a handler behind coalesce() finds in `res.locals.threadflight`. */
export interface FlightLocals {
  /** The request's key; undefined when it is not coalesced. */
  readonly key: string | undefined;
  /** Aborts when nobody waits for this response any more: for a leader, every client of its
   * flight; otherwise, this request's client. */
  readonly signal: AbortSignal;
}

/** Seconds a client refused by maxSubscribers is asked to wait. */
const RETRY_AFTER_SECONDS = 1;

/** How a key's flight is run: shared once (Singleflight) or kept for a while (FlightCache). */
type Run = (key: string, work: (signal: AbortSignal) => Promise<Outcome>, signal: AbortSignal) => Promise<Outcome>;

function runner(options: ReturnType<typeof resolveCoalesceOptions>): Run {
  const { name, maxDuration, maxSubscribers, distributed, cache } = options;
  if (cache !== undefined) {
    const responses = new FlightCache({
      name,
      maxDuration,
      maxSubscribers,
      distributed,
      ttl: cache.ttl,
      grace: cache.grace,
    });
    return (key, work, signal) =>
      responses.getOrSet<Outcome>(
        key,
        async (context) => {
          const outcome = await work(context.signal);
          // Shared with the requests waiting now, but an error page is not kept for later ones.
          if ('notShared' in outcome || outcome.response.status >= 500) context.skip();
          return outcome;
        },
        { signal },
      );
  }
  const flights = new Singleflight({ name, maxDuration, maxSubscribers, distributed: distributed as Coordinator });
  return (key, work, signal) => flights.execute(key, work, { signal });
}

/** Express's own error path renders these with a fitting status, unless the app handles them;
 * Retry-After is set on the response too, for error handlers that do not read `err.headers`. */
function asHttpError(error: unknown, res: Response): unknown {
  if (error instanceof FlightTimeoutError) Object.assign(error, { status: 504, statusCode: 504 });
  else if (error instanceof TooManySubscribersError) {
    const retryAfter = String(RETRY_AFTER_SECONDS);
    Object.assign(error, { status: 503, statusCode: 503, headers: { 'Retry-After': retryAfter } });
    if (!res.headersSent) res.setHeader('Retry-After', retryAfter);
  }
  return error;
}

/**
 * Middleware coalescing concurrent identical requests: `app.get(path, coalesce(options), handler)`.
 * @throws TypeError or RangeError naming the option.
 */
export function coalesce(options?: CoalesceOptions): Middleware {
  const resolved = resolveCoalesceOptions(options);
  const run = runner(resolved);
  const { methods, vary, key: keyOf, maxBytes } = resolved;
  const captureOptions = { maxBytes, keyed: keyOf === undefined ? keyedHeaders(vary) : undefined };
  // Marks a request this middleware already handles: mounted twice on one request's way (a
  // router and a route, two routes), it must not join the flight it leads.
  const inside = Symbol('threadflight.coalesce');

  const keyFor = (req: Request): string | undefined => {
    if (keyOf !== undefined) return keyOf(req);
    const headers = req.headers as Headers;
    if (!coalescibleByDefault(headers)) return undefined;
    return defaultKey(req.method ?? 'GET', req.originalUrl ?? req.url ?? '/', headers, vary);
  };

  /** The request's client going away aborts `leaving` (before it was answered). */
  const watchClient = (res: Response): { leaving: AbortController; stop: () => void } => {
    const leaving = new AbortController();
    const onClose = (): void => {
      if (!res.writableEnded) leaving.abort();
    };
    res.once('close', onClose);
    return { leaving, stop: () => res.off('close', onClose) };
  };

  /** On with the route, not coalesced: the handler still finds its signal. */
  const passThrough = (res: Response, next: Next, key?: string): void => {
    if (res.locals !== undefined) {
      res.locals.threadflight = { key, signal: watchClient(res).leaving.signal } satisfies FlightLocals;
    }
    next();
  };

  const middleware: Middleware = (req, res, next) => {
    const marked = req as Request & { [inside]?: true };
    if (marked[inside] === true || !methods.has(req.method ?? '')) return passThrough(res, next);
    marked[inside] = true;
    let key: string | undefined;
    try {
      key = keyFor(req);
    } catch (error) {
      return next(error);
    }
    if (key === undefined) return passThrough(res, next);
    if (typeof key !== 'string') {
      return next(new TypeError(`coalesce() option "key" must return a string or undefined, returned ${typeof key}`));
    }
    const client = watchClient(res);
    let led = false;
    const lead = (signal: AbortSignal): Promise<Outcome> => {
      led = true;
      return new Promise<Outcome>((resolve, reject) => {
        if (res.locals !== undefined) res.locals.threadflight = { key, signal } satisfies FlightLocals;
        capture(res, captureOptions, resolve);
        if (!runRestOfRoute(req, res, next, middleware, reject)) next();
      });
    };
    run(key, lead, client.leaving.signal).then(
      (outcome) => {
        if (led) return client.stop(); // the leader's client has its response already
        if ('response' in outcome) {
          client.stop();
          replay(res, outcome.response);
        } else {
          // Not shareable: this request runs the handler itself, with its own client's signal.
          if (res.locals !== undefined) res.locals.threadflight = { key, signal: client.leaving.signal };
          next();
        }
      },
      (error: unknown) => {
        client.stop();
        if (led || client.leaving.signal.aborted) return; // the leader's error went its own way; a gone client needs nothing
        next(asHttpError(error, res));
      },
    );
  };
  return middleware;
}

export { DEFAULT_VARY };
