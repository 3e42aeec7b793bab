// threadflight/express: request coalescing as Express (4 and 5) middleware. Concurrent identical
// requests run the handler once; the leader's response — status, headers, body bytes — is
// replayed to every follower, in this thread, in other worker_threads (named) and in other
// processes (with a coordinator). See express.d.ts for the contract.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FlightCache } from '../cache/flight-cache';
import type { Coordinator } from '../distributed';
import { FlightTimeoutError, TooManySubscribersError } from '../errors';
import { coalescibleByDefault, defaultKey, DEFAULT_VARY, type Headers } from '../http/policy';
import { Singleflight } from '../singleflight';
import { capture, replay, type Outcome } from './capture';
import { runRestOfRoute, type Next } from './route';
import { resolveCoalesceOptions, type CoalesceOptions } from './options';

export type { CoalesceOptions } from './options';

type Request = IncomingMessage & { route?: unknown; originalUrl?: string; url?: string };
type Response = ServerResponse & { locals?: Record<string, unknown> };
export type Middleware = (req: Request, res: Response, next: Next) => void;

/** What the leader's handler finds in `res.locals.threadflight`. */
export interface FlightLocals {
  readonly key: string;
  /** Aborts when every client waiting for this response (the leader's included) is gone. */
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
          if ('notShared' in outcome) context.skip();
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

  const keyFor = (req: Request): string | undefined => {
    if (keyOf !== undefined) return keyOf(req);
    const headers = req.headers as Headers;
    if (!coalescibleByDefault(headers)) return undefined;
    const url = new URL(req.originalUrl ?? req.url ?? '/', 'http://x');
    return defaultKey(req.method ?? 'GET', url.pathname, url.search, headers, vary);
  };

  const middleware: Middleware = (req, res, next) => {
    if (!methods.has(req.method ?? '')) return next();
    let key: string | undefined;
    try {
      key = keyFor(req);
    } catch (error) {
      return next(error);
    }
    if (key === undefined) return next();
    if (typeof key !== 'string') {
      return next(new TypeError(`coalesce() option "key" must return a string or undefined, returned ${typeof key}`));
    }
    // This client leaves the flight when its connection closes before it was answered.
    const leaving = new AbortController();
    const onClose = (): void => {
      if (!res.writableEnded) leaving.abort();
    };
    res.once('close', onClose);
    let led = false;
    const lead = (signal: AbortSignal): Promise<Outcome> => {
      led = true;
      return new Promise<Outcome>((resolve, reject) => {
        if (res.locals !== undefined) res.locals.threadflight = { key, signal } satisfies FlightLocals;
        capture(res, maxBytes, resolve);
        if (!runRestOfRoute(req, res, next, middleware, reject)) next();
      });
    };
    run(key, lead, leaving.signal).then(
      (outcome) => {
        res.off('close', onClose);
        if (led) return; // the leader's client has its response already
        if ('response' in outcome) replay(res, outcome.response);
        else next(); // not shareable: this request runs the handler itself
      },
      (error: unknown) => {
        res.off('close', onClose);
        if (led || leaving.signal.aborted) return; // the leader's error went its own way; a gone client needs nothing
        next(asHttpError(error, res));
      },
    );
  };
  return middleware;
}

export { DEFAULT_VARY };
