// End-to-end benchmark: HTTP load (autocannon) -> Express (child process) -> pg.Pool -> a real
// PostgreSQL 15 started here on loopback, in four server modes: no coalescing, threadflight
// (a Singleflight in the handler), promise-coalesce, and middleware (threadflight/express). Counts the queries that actually reach PostgreSQL, so the table shows how
// many requests each query served, besides req/s and latency.
//
//   npm run bench:e2e
//   node bench/e2e/run.js [--duration S] [--warmup S] [--connections N] [--pool N]
//                         [--modes none,threadflight,promise-coalesce,middleware] [--express 4|5]
//                         [--scenarios hot,hot10,hot-2w] [--orders N] [--out FILE | --no-save]
//
// Scenarios (all on "power users", whose query aggregates ~3000 orders, see schema.js):
//   hot     every request asks for /users/1, server on the main thread
//   hot10   requests spread at random over /users/1..10
//   hot-2w  every request asks for /users/1, server handlers in 2 worker_threads (one port each,
//           connections split between them; the pg pool is split too, same total)
//
// PostgreSQL is found in $PG_BINDIR, /usr/lib/postgresql/<v>/bin, pg_config or $PATH; if it is
// missing the script says how to install it and exits with 2 (it does not install packages).
// Its data dir is a temp dir that is deleted on exit, error or Ctrl-C.
const { fork } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const { machine: machineRecord } = require('../common');
const path = require('node:path');
const autocannon = require('autocannon');
const { TempPostgres } = require('./postgres');
const { setupSql, USER_QUERY, USERS, ORDERS } = require('./schema');

const ALL_MODES = ['none', 'threadflight', 'promise-coalesce', 'middleware'];
const DEFAULT_MODES = ['none', 'threadflight', 'promise-coalesce'];
const SCENARIOS = {
  hot: { workers: 0, ids: [1], what: 'one hot id, 1 thread' },
  hot10: { workers: 0, ids: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], what: '10 hot ids, 1 thread' },
  'hot-2w': { workers: 2, ids: [1], what: 'one hot id, 2 worker_threads' },
};

function parseArgs(argv) {
  const o = {
    duration: 10,
    warmup: 2,
    connections: 128,
    pool: 10,
    modes: DEFAULT_MODES,
    express: '4',
    scenarios: Object.keys(SCENARIOS),
    orders: ORDERS,
    out: path.join(__dirname, '..', 'results', 'e2e.json'),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) usage(`${flag} needs a value`);
      return v;
    };
    const num = (min) => {
      const n = Number(value());
      if (!Number.isFinite(n) || n < min) usage(`${flag} must be a number >= ${min}`);
      return n;
    };
    switch (flag) {
      case '--duration':
        o.duration = num(1);
        break;
      case '--warmup':
        o.warmup = num(0);
        break;
      case '--connections':
        o.connections = Math.floor(num(1));
        break;
      case '--pool':
        o.pool = Math.floor(num(1));
        break;
      case '--orders':
        o.orders = Math.floor(num(1000));
        break;
      case '--modes':
        o.modes = list(value(), ALL_MODES, flag);
        break;
      case '--scenarios':
        o.scenarios = list(value(), Object.keys(SCENARIOS), flag);
        break;
      case '--express':
        o.express = list(value(), ['4', '5'], flag)[0];
        break;
      case '--out':
        o.out = path.resolve(value());
        break;
      case '--no-save':
        o.out = null;
        break;
      case '-h':
      case '--help':
        usage();
        break;
      default:
        usage(`unknown argument ${a}`);
    }
  }
  return o;
}

function list(v, allowed, flag) {
  const items = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = items.filter((s) => !allowed.includes(s));
  if (bad.length || !items.length) usage(`${flag}: choose from ${allowed.join(', ')}`);
  return items;
}

function usage(problem) {
  if (problem) console.error(`error: ${problem}`);
  console.error(fs.readFileSync(__filename, 'utf8').split('\n').slice(0, 22).join('\n'));
  process.exit(problem ? 2 : 0);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => console.log(`[e2e] ${msg}`);

// ---- everything we start, so every exit path can stop it ----------------------------------

let postgres = null;
const servers = new Set();

function startServer(mode, workers, pool, pgConn, express) {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'server.js'), [], {
      env: {
        ...process.env,
        BENCH_MODE: mode,
        BENCH_EXPRESS: express,
        BENCH_WORKERS: String(workers),
        BENCH_POOL: String(pool),
        BENCH_PG: JSON.stringify(pgConn),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    servers.add(child);
    child.once('exit', (code, signal) => {
      servers.delete(child);
      reject(new Error(`server (${mode}) exited early: ${code ?? signal}`));
    });
    child.once('message', ({ ports }) => resolve({ child, ports }));
  });
}

async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

let cleaning = null;
let interrupted = false;
function cleanup() {
  cleaning ??= (async () => {
    await Promise.all([...servers].map(stopServer));
    if (postgres) {
      log('stopping PostgreSQL and removing its temp dir');
      await postgres.stop();
    }
  })();
  return cleaning;
}

for (const [sig, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
]) {
  process.on(sig, () => {
    interrupted = true;
    console.error(`\n[e2e] ${sig}: cleaning up`);
    cleanup().finally(() => process.exit(code));
  });
}
// Last resort (uncaught exception, process.exit elsewhere): synchronous, so no waiting.
process.on('exit', () => {
  for (const child of servers)
    try {
      child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  if (postgres) postgres.stopSync();
});

// ---- measurement --------------------------------------------------------------------------

async function getJson(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return res.json();
}

/** /stats once every request the server received has been answered. */
async function settledStats(base) {
  for (let i = 0; ; i++) {
    const s = await getJson(`${base}/stats`);
    if (s.inFlight === 0 || i >= 100) return s;
    await sleep(50);
  }
}

function load({ ports, ids, connections, duration }) {
  const urls = ports.map((p) => `http://127.0.0.1:${p}/users/${ids[0]}`);
  const opts = {
    url: urls.length === 1 ? urls[0] : urls, // autocannon deals connections round-robin over urls
    connections,
    duration,
    pipelining: 1,
    timeout: 10,
    // One host name for every port, as behind a load balancer: the threads of the multi-port
    // scenarios serve one site (the middleware's default key includes the Host).
    headers: { host: 'bench.example' },
  };
  if (ids.length > 1) {
    // A fresh random hot id for every request.
    opts.requests = [
      {
        method: 'GET',
        setupRequest: (req) => ({ ...req, path: `/users/${ids[Math.floor(Math.random() * ids.length)]}` }),
      },
    ];
  }
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

async function measure(opts, scenarioName, mode, ports) {
  const sc = SCENARIOS[scenarioName];
  const base = `http://127.0.0.1:${ports[0]}`;
  if (opts.warmup > 0) {
    await load({ ports, ids: sc.ids, connections: opts.connections, duration: opts.warmup });
  }
  const before = await settledStats(base);
  const r = await load({ ports, ids: sc.ids, connections: opts.connections, duration: opts.duration });
  const after = await settledStats(base);
  const requests = after.requests - before.requests;
  const queries = after.queries - before.queries;
  return {
    scenario: scenarioName,
    mode,
    threads: sc.workers || 1,
    hotIds: sc.ids.length,
    connections: opts.connections,
    durationS: r.duration,
    requests: r.requests.total, // completed responses, as autocannon counts them
    serverRequests: requests, // received by the server in the same window (incl. the last in flight)
    backendQueries: queries,
    requestsPerQuery: queries ? +(requests / queries).toFixed(1) : null,
    reqPerSec: Math.round(r.requests.average),
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    latencyAvgMs: r.latency.average,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
  };
}

/** Cost of the hot query alone, serially from one client: what each coalesced query saves. */
async function queryCost(client, id, n = 40) {
  const ms = [];
  for (let i = 0; i < n + 5; i++) {
    const t = process.hrtime.bigint();
    await client.query(USER_QUERY, [id]);
    if (i >= 5) ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ms.sort((a, b) => a - b);
  return +ms[Math.floor(ms.length / 2)].toFixed(2);
}

/** Installed version; read from disk, since some packages do not export ./package.json. */
function packageVersion(name) {
  const root = path.join(__dirname, '..', '..');
  const file =
    name === 'threadflight' ? path.join(root, 'package.json') : path.join(root, 'node_modules', name, 'package.json');
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

function markdown(rows) {
  const head =
    '| scenario | mode | requests | backend queries | req/query | req/s | p50 ms | p99 ms | errors | non-2xx |';
  const sep = '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';
  const lines = rows.map(
    (r) =>
      `| ${SCENARIOS[r.scenario].what} | ${r.mode} | ${r.requests} | ${r.backendQueries} | ` +
      `${r.requestsPerQuery ?? '-'} | ${r.reqPerSec} | ${r.latencyP50Ms} | ${r.latencyP99Ms} | ${r.errors + r.timeouts} | ${r.non2xx} |`,
  );
  const note =
    '\nrequests: completed 2xx responses (autocannon); req/query: requests the server received ÷ queries ' +
    'it sent to PostgreSQL in the same window; errors: connection errors + timeouts.';
  return [head, sep, ...lines].join('\n') + note;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const loadAvgAtStart = os.loadavg()[0]; // other work on the machine skews everything

  try {
    postgres = new TempPostgres({ log });
  } catch (err) {
    if (err.code !== 'PG_NOT_FOUND') throw err;
    console.error(`[e2e] ${err.message}`);
    process.exitCode = 2;
    return;
  }
  const pgVersion = postgres.version();
  log(`${pgVersion} from ${postgres.binDir}`);
  await postgres.start();
  log(`PostgreSQL listening on 127.0.0.1:${postgres.port} (data in ${postgres.dir})`);

  const client = postgres.client();
  client.on('error', () => {}); // e.g. killed by Ctrl-C; the pending query rejects anyway
  await client.connect();
  let t = Date.now();
  for (const sql of setupSql({ users: USERS, orders: opts.orders })) await client.query(sql);
  const hotOrders = (await client.query('SELECT count(*)::int AS n FROM orders WHERE user_id = 1')).rows[0].n;
  log(
    `loaded ${USERS} users and ${opts.orders} orders in ${((Date.now() - t) / 1000).toFixed(1)} s ` +
      `(user 1 has ${hotOrders} orders)`,
  );
  const hotQueryMs = await queryCost(client, 1);
  const coldQueryMs = await queryCost(client, 54321);
  const expected = (await client.query(USER_QUERY, [1])).rows[0];
  const serverVersion = (await client.query('SHOW server_version')).rows[0].server_version;
  await client.end();
  log(`hot query (user 1) ${hotQueryMs} ms, ordinary user ${coldQueryMs} ms (median round trip, one client)`);

  const rows = [];
  const pgConn = postgres.connection();
  // One server per (thread layout, mode); the scenarios of a layout share it.
  const layouts = [...new Set(opts.scenarios.map((s) => SCENARIOS[s].workers))];
  for (const workers of layouts) {
    for (const mode of opts.modes) {
      t = Date.now();
      const { child, ports } = await startServer(mode, workers, opts.pool, pgConn, opts.express);
      // Same answer as the database gives, in every mode (dates arrive as JSON strings).
      const got = await getJson(`http://127.0.0.1:${ports[ports.length - 1]}/users/1`);
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        throw new Error(`server (${mode}) answered ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
      }
      for (const name of opts.scenarios.filter((s) => SCENARIOS[s].workers === workers)) {
        log(
          `${name} / ${mode}: ${opts.warmup} s warm-up + ${opts.duration} s, ${opts.connections} connections` +
            (ports.length > 1 ? ` over ports ${ports.join(', ')}` : ''),
        );
        const row = await measure(opts, name, mode, ports);
        rows.push(row);
        log(
          `  ${row.requests} requests, ${row.backendQueries} queries (${row.requestsPerQuery} req/query), ` +
            `${row.reqPerSec} req/s, p50 ${row.latencyP50Ms} ms, p99 ${row.latencyP99Ms} ms, ` +
            `errors ${row.errors + row.timeouts}, non-2xx ${row.non2xx}`,
        );
      }
      await stopServer(child);
    }
  }

  // Rows grouped by scenario, in mode order, for reading.
  rows.sort(
    (a, b) =>
      opts.scenarios.indexOf(a.scenario) - opts.scenarios.indexOf(b.scenario) ||
      opts.modes.indexOf(a.mode) - opts.modes.indexOf(b.mode),
  );

  const machine = machineRecord({
    totalMemGB: +(os.totalmem() / 2 ** 30).toFixed(1),
    postgres: pgVersion,
    postgresServerVersion: serverVersion,
    loadAvg1mAtStart: +loadAvgAtStart.toFixed(2),
  });
  const config = {
    durationS: opts.duration,
    express: opts.express,
    warmupS: opts.warmup,
    connections: opts.connections,
    pgPoolMax: opts.pool,
    users: USERS,
    orders: opts.orders,
    hotUserOrders: hotOrders,
    hotQueryMs,
    ordinaryUserQueryMs: coldQueryMs,
    postgresSettings: 'fsync=off, synchronous_commit=off, full_page_writes=off, shared_buffers=256MB',
    libraries: Object.fromEntries(
      ['autocannon', opts.express === '5' ? 'express5' : 'express', 'pg', 'promise-coalesce', 'threadflight'].map(
        (name) => [name, packageVersion(name)],
      ),
    ),
  };

  const bad = rows.filter((r) => r.errors || r.timeouts || r.non2xx);
  console.log(
    `\n${machine.cpu}, ${machine.cores} cores, ${machine.totalMemGB} GB, node ${machine.node}, ` +
      `PostgreSQL ${serverVersion}; ${opts.connections} connections, ${opts.duration} s (+${opts.warmup} s warm-up), ` +
      `pg pool ${opts.pool}; hot query ${hotQueryMs} ms alone\n`,
  );
  console.log(markdown(rows));
  console.log(`\ntotal time ${((Date.now() - started) / 1000).toFixed(0)} s`);

  if (opts.out) {
    fs.mkdirSync(path.dirname(opts.out), { recursive: true });
    fs.writeFileSync(opts.out, `${JSON.stringify({ machine, config, query: USER_QUERY.trim(), rows }, null, 2)}\n`);
    log(`saved ${path.relative(process.cwd(), opts.out)}`);
  }
  if (bad.length) {
    console.error(
      `[e2e] FAILED: errors or non-2xx responses in ${bad.map((r) => `${r.scenario}/${r.mode}`).join(', ')}`,
    );
    process.exitCode = 1;
  }
}

main()
  .catch((err) => {
    if (interrupted) return; // the signal handler is already cleaning up and exiting
    console.error('[e2e] failed:', err);
    process.exitCode = 1;
  })
  .finally(cleanup);
