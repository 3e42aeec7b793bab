// Running the rest of an Express route for the leader, so that its handler's error is known
// here (and can reach every follower) while still going through Express's own error path.
//
// Express gives a middleware no way to see what the handlers after it do with `next(err)`: the
// route calls them with its own `next`. So the leader runs the route's remaining layers itself,
// as the route would (method match, HEAD served by GET handlers, a throw or a rejected promise
// becoming `next(err)`), and hands the route back to Express at the end: `next(err)` for an
// error, `next('route')` when every handler passed.
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Next = (error?: unknown) => void;
type Handler = (req: IncomingMessage, res: ServerResponse, next: Next) => unknown;

interface Layer {
  handle?: unknown;
  method?: string;
}
interface Route {
  stack?: unknown;
  methods?: Record<string, boolean>;
}

/**
 * Runs what follows `self` in the request's route; `onError` hears a handler's error before
 * Express does. Returns false when `self` is not in a route (used with app.use): then nothing
 * ran, and the caller goes on with `next()`.
 */
export function runRestOfRoute(
  req: IncomingMessage & { route?: unknown },
  res: ServerResponse,
  next: Next,
  self: unknown,
  onError: (error: unknown) => void,
): boolean {
  const route = req.route as Route | undefined;
  const stack = Array.isArray(route?.stack) ? (route.stack as Layer[]) : undefined;
  if (stack === undefined) return false;
  let method = (req.method ?? 'GET').toLowerCase();
  if (method === 'head' && route?.methods?.head !== true) method = 'get';
  // This request's own layer: app.all() puts the middleware in once per method.
  const at = stack.findIndex(
    (layer) => layer.handle === self && (layer.method === undefined || layer.method === method),
  );
  if (at < 0) return false;
  let index = at + 1;

  const step: Next = (error) => {
    if (error === 'route' || error === 'router') return next(error);
    // As Express: only a truthy value is an error (next(false) and next(0) go on).
    if (error) {
      onError(error);
      return next(error); // Express's error path: the route's error handlers, then the app's
    }
    while (index < stack.length) {
      const layer = stack[index++];
      const handle = layer.handle;
      if (typeof handle !== 'function' || handle.length > 3) continue; // error handlers: Express runs them
      if (layer.method !== undefined && layer.method !== method) continue;
      call(handle as Handler);
      return;
    }
    next('route'); // every handler passed: on to the next route, as Express would go
  };
  const call = (handler: Handler): void => {
    let returned: unknown;
    try {
      returned = handler(req, res, step);
    } catch (error) {
      step(error ?? new Error('A route handler threw a nullish value'));
      return;
    }
    const then = thenOf(returned);
    if (then === undefined) return;
    try {
      Reflect.apply(then, returned, [
        undefined,
        (error: unknown) => step(error ?? new Error('A route handler rejected with a nullish value')),
      ]);
    } catch {
      // A promise-like that cannot be listened to: its handler answers, or not, on its own.
    }
  };
  step();
  return true;
}

function thenOf(value: unknown): ((...args: unknown[]) => unknown) | undefined {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  try {
    const then = (value as { then?: unknown }).then;
    return typeof then === 'function' ? (then as (...args: unknown[]) => unknown) : undefined;
  } catch {
    return undefined;
  }
}
