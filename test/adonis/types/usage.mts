// What an AdonisJS app writes with threadflight/adonis, type-checked (types.test.js): the
// declarations generated from lib/adonis/*.mts, the container binding and ctx.flight.
import type { HttpContext } from '@adonisjs/core/http';
import type { ApplicationService } from '@adonisjs/core/types';
import router from '@adonisjs/core/services/router';
import { FlightCache, Singleflight } from 'threadflight';
import { defineConfig, ThreadflightManager, stubsRoot, configure } from 'threadflight/adonis';
import type { CoalesceOptions, ResolvedThreadflightConfig } from 'threadflight/adonis';
import ThreadflightProvider from 'threadflight/adonis/provider';
import threadflight from 'threadflight/adonis/services/main';

export const config: ResolvedThreadflightConfig = defineConfig({
  default: 'main',
  instances: { main: { name: 'app', maxDuration: 5000 } },
  caches: { main: { name: 'app-cache', ttl: '5m', grace: '1h' } },
});
// @ts-expect-error maxDuration is a number of ms
defineConfig({ instances: { main: { maxDuration: '5s' } } });
// @ts-expect-error unknown config key
defineConfig({ instance: {} });

const middleware = router.named({ coalesce: () => import('threadflight/adonis/middleware') });
router
  .get('/reports/:id', async (ctx: HttpContext) => {
    const signal: AbortSignal | undefined = ctx.flight?.signal;
    const key: string | undefined = ctx.flight?.key;
    return { signal: signal?.aborted, key };
  })
  .use(middleware.coalesce({ maxBytes: 1024, vary: ['accept'], key: (ctx) => ctx.request.url() }));
router.get('/a', () => 'a').use(middleware.coalesce());
router.get('/b', () => 'b').use(middleware.coalesce({ instance: 'main', methods: ['GET'] }));
// @ts-expect-error unknown option
router.get('/c', () => 'c').use(middleware.coalesce({ maxbytes: 1 }));
// @ts-expect-error key returns a string or undefined
router.get('/d', () => 'd').use(middleware.coalesce({ key: () => 1 }));

export const options: CoalesceOptions = { name: 'reports', maxDuration: 1000, maxSubscribers: 100 };

export async function bindings(app: ApplicationService) {
  const manager: ThreadflightManager = await app.container.make('threadflight.manager');
  const instance: Singleflight = manager.use('main');
  const cache: FlightCache = manager.cache();
  const value: Promise<number> = threadflight.execute('k', async (signal) => (signal.aborted ? 0 : 1));
  const inFlight: boolean = threadflight.isInFlight('k');
  const count: number = threadflight.getInFlightCount();
  const remembered: Promise<string> = threadflight.remember('k', '10m', () => 'x');
  const got: Promise<number> = threadflight.getOrSet('k', ({ stale }) => stale?.value ?? 1, { ttl: 1000 });
  // @ts-expect-error ttl is ms or a duration string
  void threadflight.remember('k', true, () => 'x');
  const provider = new ThreadflightProvider(app);
  provider.register();
  return { instance, cache, value, inFlight, count, remembered, got, stubsRoot: stubsRoot.length, configure };
}
