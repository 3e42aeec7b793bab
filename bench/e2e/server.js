// The server under test for bench/e2e/run.js: Express + pg.Pool, one route, GET /users/:id,
// with the query coalesced (or not) according to BENCH_MODE:
//   none              one query per request
//   threadflight      new Singleflight({ name: 'users' }).execute('user:' + id, ...)
//   promise-coalesce  coalesceAsync('user:' + id, ...)
//   middleware        app.get('/users/:id', coalesce({ name: 'users' }), handler) (threadflight/express):
//                     the whole response is shared, the handler runs once per flight
// It runs in its own process (forked by run.js) so the load generator never shares its event
// loop. BENCH_WORKERS=N (N >= 1) serves from N worker_threads instead of the main thread, each
// on its own port: Node 20's net cannot share one port between threads (cluster shares only
// between processes, and `reusePort` arrives in Node 22.12), so run.js spreads its connections
// over the ports. Counters live in a SharedArrayBuffer, so GET /stats reports the whole process.
//
// Environment: BENCH_MODE, BENCH_WORKERS (0 = main thread), BENCH_PG (JSON pg connection
// options), BENCH_POOL (total pool size, split over the workers), BENCH_EXPRESS (4 or 5). Tells the parent its ports
// over IPC: { ports: [...] }.
const { isMainThread, Worker, workerData, parentPort } = require('node:worker_threads');

const REQUESTS = 0; // requests to /users/:id received
const QUERIES = 1; // queries actually sent to PostgreSQL (counted in the work function)
const IN_FLIGHT = 2; // /users/:id requests not yet answered (run.js waits for 0 before reading)

const mode = process.env.BENCH_MODE || 'none';
const workers = Number(process.env.BENCH_WORKERS || 0);
const poolTotal = Number(process.env.BENCH_POOL || 10);

function serve(counters, poolMax) {
  const express = require(process.env.BENCH_EXPRESS === '5' ? 'express5' : 'express');
  const pg = require('pg');
  const { USER_QUERY } = require('./schema');

  const pool = new pg.Pool({ ...JSON.parse(process.env.BENCH_PG), max: poolMax });
  pool.on('error', (err) => console.error('pg pool error:', err.message)); // idle client lost

  async function queryUser(id) {
    Atomics.add(counters, QUERIES, 1);
    const { rows } = await pool.query(USER_QUERY, [id]);
    return rows[0] ?? null;
  }

  let loadUser;
  let routeMiddleware = [];
  if (mode === 'none') {
    loadUser = queryUser;
  } else if (mode === 'middleware') {
    const { coalesce } = require('../../dist/express');
    loadUser = queryUser;
    routeMiddleware = [coalesce({ name: 'users' })];
  } else if (mode === 'threadflight') {
    const { Singleflight } = require('../..');
    // Named: one table for every thread of the process (matters with BENCH_WORKERS > 1).
    const users = new Singleflight({ name: 'users' });
    loadUser = (id) => users.execute(`user:${id}`, () => queryUser(id));
  } else if (mode === 'promise-coalesce') {
    const { coalesceAsync } = require('promise-coalesce');
    // Its table is a module-level Map: per thread, so workers do not share flights.
    loadUser = (id) => coalesceAsync(`user:${id}`, () => queryUser(id));
  } else {
    throw new Error(`unknown BENCH_MODE '${mode}'`);
  }

  const app = express();
  app.set('x-powered-by', false);

  // Counted before any coalescing, so every mode counts every request.
  app.use('/users', (req, res, next) => {
    Atomics.add(counters, REQUESTS, 1);
    Atomics.add(counters, IN_FLIGHT, 1);
    res.once('close', () => Atomics.sub(counters, IN_FLIGHT, 1)); // after finish, or on hang-up
    next();
  });

  app.get('/users/:id', ...routeMiddleware, async (req, res, next) => {
    const id = Number(req.params.id);
    if (!Number.isSafeInteger(id) || id < 1 || id > 2 ** 31 - 1) {
      res.status(400).json({ error: 'bad id' });
      return;
    }
    try {
      const user = await loadUser(id);
      if (user === null) res.status(404).json({ error: 'no such user' });
      else res.json(user);
    } catch (err) {
      next(err); // Express 4 does not catch rejected promises itself
    }
  });

  app.get('/stats', (_req, res) => {
    res.json({
      mode,
      workers,
      requests: Atomics.load(counters, REQUESTS),
      queries: Atomics.load(counters, QUERIES),
      inFlight: Atomics.load(counters, IN_FLIGHT),
    });
  });

  app.use((err, _req, res, _next) => {
    console.error('request failed:', err && err.message);
    res.status(500).json({ error: 'internal' });
  });

  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server.address().port));
    server.once('error', reject);
    server.keepAliveTimeout = 60_000; // autocannon keeps its connections for the whole run
  });
}

async function main() {
  const counters = new Int32Array(new SharedArrayBuffer(4 * 3));
  let ports;
  if (workers === 0) {
    ports = [await serve(counters, poolTotal)];
  } else {
    // The same total number of PostgreSQL connections as with one thread, split evenly.
    const poolMax = Math.max(1, Math.floor(poolTotal / workers));
    ports = await Promise.all(
      Array.from(
        { length: workers },
        () =>
          new Promise((resolve, reject) => {
            const w = new Worker(__filename, { workerData: { counters, poolMax } });
            w.once('message', resolve);
            w.once('error', reject);
            w.on('error', (err) => {
              console.error('worker failed:', err);
              process.exit(1);
            });
            w.on('exit', (code) => {
              if (code !== 0) process.exit(1);
            });
          }),
      ),
    );
  }
  if (process.send) process.send({ ports });
  else console.log(`listening on 127.0.0.1 ports ${ports.join(', ')} (mode ${mode})`);
}

if (isMainThread) {
  // Never outlive run.js: when it goes away, so does the IPC channel.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  serve(workerData.counters, workerData.poolMax).then((port) => parentPort.postMessage(port));
}
