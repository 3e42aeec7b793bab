// The coalesce middleware (start/kernel.ts: router.named({ coalesce: () => import('threadflight/adonis/middleware') })):
// identical concurrent requests run the route's handler once; the others get a replay of its
// response. See README, "AdonisJS", for the rules of what is shared.
import app from '@adonisjs/core/services/app';
import type { HttpContext } from '@adonisjs/core/http';
import type { NextFn } from '@adonisjs/core/types/http';
import { FlightTimeoutError, MAX_KEY_LENGTH, Singleflight, TooManySubscribersError } from 'threadflight';
import { checkOptions, type CheckedOptions, type CoalesceOptions } from './coalesce_options.mjs';
import { FlightFullException, FlightTimeoutException } from './errors.mjs';
import { replay, takeSnapshot, type Outcome } from './snapshot.mjs';
import { coalescibleByDefault, defaultKey, keyedHeaders, type Headers } from '../../lib/http-policy.cjs';

export type { CoalesceOptions } from './coalesce_options.mjs';

/** What the request whose handler runs for a flight finds in `ctx.flight`. */
export interface LeaderFlight {
  /** The flight's key. */
  readonly key: string;
  /** Aborted when every request waiting for this response (this one included) has gone, or at maxDuration. */
  readonly signal: AbortSignal;
}

declare module '@adonisjs/core/http' {
  interface HttpContext {
    /** Set by the coalesce middleware on the request that runs the handler for its flight; undefined on the others. */
    flight?: LeaderFlight;
  }
}

interface Setup {
  options: CheckedOptions;
  /** The route's own instance (options name/maxDuration/maxSubscribers/distributed). */
  own: Singleflight | undefined;
}

const setups = new WeakMap<object, Setup>();
const NO_OPTIONS = {};
// For routes that name no instance in an app without the provider.
let fallback: Singleflight | undefined;

function setupFor(given: CoalesceOptions | undefined): Setup {
  const id = given ?? NO_OPTIONS;
  let setup = setups.get(id);
  if (setup === undefined) {
    const options = checkOptions(given);
    setup = { options, own: options.own === undefined ? undefined : ownInstance(options.own) };
    setups.set(id, setup);
  }
  return setup;
}

function ownInstance(options: NonNullable<CheckedOptions['own']>): Singleflight {
  try {
    return new Singleflight(options);
  } catch (error) {
    if (error instanceof Error) error.message = `coalesce middleware: ${error.message}`;
    throw error;
  }
}

async function flightFor(setup: Setup): Promise<Singleflight> {
  if (setup.own !== undefined) return setup.own;
  const instance = setup.options.instance;
  if (app.container.hasBinding('threadflight.manager')) {
    const manager = await app.container.make('threadflight.manager');
    return manager.use(instance);
  }
  if (instance !== undefined) {
    throw new Error(
      `coalesce middleware: instance "${instance}" needs the provider 'threadflight/adonis/provider' in adonisrc.ts`,
    );
  }
  return (fallback ??= new Singleflight());
}

/** The request's key; undefined when it is not to be coalesced. */
function requestKey(ctx: HttpContext, options: CheckedOptions): string | undefined {
  if (options.key !== undefined) {
    const key = options.key(ctx);
    if (key !== undefined && typeof key !== 'string')
      throw new TypeError('coalesce middleware: key(ctx) must return a string or undefined');
    return key;
  }
  const request = ctx.request;
  const headers = request.headers() as Headers;
  // Who is asking is not in the key: a personal response must not reach anyone else.
  if (!coalescibleByDefault(headers)) return undefined;
  // The URL as the client sent it (path and query undecoded), as every integration keys it.
  const key = defaultKey(request.method(), request.request.url ?? request.url(true), headers, options.vary);
  return key.length <= MAX_KEY_LENGTH ? key : undefined;
}

/** A signal aborted when the client goes before its response is written, and its cleanup. */
function clientSignal(ctx: HttpContext): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const res = ctx.response.response;
  const onClose = () => {
    if (!res.writableFinished) controller.abort(new Error('the client closed the connection'));
  };
  if (res.destroyed || ctx.request.request.destroyed) onClose();
  res.once('close', onClose);
  return { signal: controller.signal, dispose: () => res.off('close', onClose) };
}

/** The leader: runs the pipeline, then offers its response to the followers. */
async function lead(
  ctx: HttpContext,
  next: NextFn,
  key: string,
  signal: AbortSignal,
  options: CheckedOptions,
): Promise<Outcome> {
  ctx.flight = { key, signal };
  await next();
  // With the application's key, trusted to cover what the response varies on.
  return takeSnapshot(
    ctx.response,
    options.maxBytes,
    options.key === undefined ? keyedHeaders(options.vary) : undefined,
  );
}

/** A follower whose flight failed with threadflight's own error or the leader's pipeline error. */
function failed(ctx: HttpContext, error: unknown, client: AbortSignal): void {
  // The client is gone: nobody to answer.
  if (client.aborted) return;
  if (error instanceof FlightTimeoutError) {
    throw new FlightTimeoutException('The response took too long', { cause: error });
  }
  if (error instanceof TooManySubscribersError) {
    ctx.response.header('retry-after', '1');
    throw new FlightFullException('Too many requests are waiting for this response', { cause: error });
  }
  throw error;
}

async function coalesce(
  ctx: HttpContext,
  next: NextFn,
  flight: Singleflight,
  key: string,
  options: CheckedOptions,
): Promise<void> {
  const client = clientSignal(ctx);
  let own: Promise<Outcome> | undefined;
  let outcome: Outcome;
  try {
    outcome = await flight.execute(key, (signal) => (own = lead(ctx, next, key, signal, options)), {
      signal: client.signal,
    });
  } catch (error) {
    // The leader's pipeline is this request's own: it answers whatever the flight did.
    if (own === undefined) return failed(ctx, error, client.signal);
    outcome = { shared: false, reason: 'the flight failed' };
  } finally {
    client.dispose();
  }
  if (own !== undefined) {
    await own;
    return;
  }
  // Not to be shared (set-cookie, private, a stream, too large…): this request runs its own.
  if (outcome.shared) replay(ctx.response, outcome.snapshot);
  else await next();
}

export default class CoalesceMiddleware {
  async handle(ctx: HttpContext, next: NextFn, options?: CoalesceOptions): Promise<void> {
    const setup = setupFor(options);
    const key = setup.options.methods.has(ctx.request.method()) ? requestKey(ctx, setup.options) : undefined;
    if (key === undefined) {
      await next();
      return;
    }
    await coalesce(ctx, next, await flightFor(setup), key, setup.options);
  }
}
