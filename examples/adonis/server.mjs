// threadflight in an AdonisJS 6 or 7 app, in one file: node examples/adonis/server.mjs
// (needs @adonisjs/core). In a real app the pieces go where the comments say; the app is booted
// here the way AdonisJS packages boot one in their tests (IgnitorFactory), so that nothing else
// is needed. `--self-test` sends 50 concurrent requests and prints what happened, then exits.
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { IgnitorFactory } from '@adonisjs/core/factories';
import { defineConfig } from 'threadflight/adonis';

// config/threadflight.ts (written by `node ace configure threadflight/adonis`)
const threadflightConfig = defineConfig({
  default: 'main',
  instances: { main: { name: 'app', maxDuration: 5000 } },
  caches: { main: { name: 'app-cache', ttl: '5m', grace: '1h' } },
});

// The app root: an empty directory, since this app has no files of its own.
const appDir = mkdtempSync(join(tmpdir(), 'threadflight-example-'));
const appRoot = pathToFileURL(`${appDir}/`);
const app = new IgnitorFactory()
  .merge({
    config: { threadflight: threadflightConfig },
    // adonisrc.ts: providers: [..., () => import('threadflight/adonis/provider')]
    rcFileContents: { providers: [() => import('threadflight/adonis/provider')] },
  })
  .withCoreConfig()
  .withCoreProviders()
  .create(appRoot, { importer: (file) => import(file) })
  .createApp('web');
await app.init();
await app.boot();
await app.start(async () => {});

// start/kernel.ts
const router = await app.container.make('router');
const middleware = router.named({ coalesce: () => import('threadflight/adonis/middleware') });

// start/routes.ts
const { default: threadflight } = await import('threadflight/adonis/services/main');
let reportRuns = 0;
let priceLookups = 0;

router
  .get('/reports/:id', async ({ params, flight }) => {
    reportRuns++;
    // flight.signal: aborted once every client waiting for this report has gone.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return { id: params.id, generated: new Date(0).toISOString(), aborted: flight?.signal.aborted ?? false };
  })
  .use(middleware.coalesce());

router.get('/prices/:sku', async ({ params }) => {
  // CacheService.remember(key, ttl, callback): one lookup per sku per 5 minutes, shared by concurrent misses.
  const price = await threadflight.remember(`price:${params.sku}`, '5m', async () => {
    priceLookups++;
    await new Promise((resolve) => setTimeout(resolve, 50));
    return { sku: params.sku, cents: 1999 };
  });
  return { ...price, inFlight: threadflight.getInFlightCount() };
});

const server = await app.container.make('server');
await server.boot();
const httpServer = createServer(server.handle.bind(server));
server.setNodeServer(httpServer);
await new Promise((resolve) => httpServer.listen(Number(process.env.PORT ?? 3333), '127.0.0.1', resolve));
const base = `http://127.0.0.1:${httpServer.address().port}`;
console.log(`listening on ${base}: try ${base}/reports/7 and ${base}/prices/abc`);

async function selfTest() {
  const reports = await Promise.all(Array.from({ length: 50 }, () => fetch(`${base}/reports/7`).then((r) => r.text())));
  const prices = await Promise.all(Array.from({ length: 50 }, () => fetch(`${base}/prices/abc`).then((r) => r.json())));
  console.log(
    `50 concurrent GET /reports/7: handler ran ${reportRuns} time(s), ${new Set(reports).size} distinct body`,
  );
  console.log(
    `50 concurrent GET /prices/abc: ${priceLookups} lookup(s), cents ${[...new Set(prices.map((p) => p.cents))]}`,
  );
}

const stop = async () => {
  httpServer.close();
  await app.terminate();
  rmSync(appDir, { recursive: true, force: true });
};
if (process.argv.includes('--self-test')) {
  await selfTest();
  await stop();
} else {
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
