// npm run bench:redis — threadflight/redis against a real redis-server on loopback:
//  1. the latency a miss adds over one plain GET round trip (sequential misses, one process);
//  2. Redis commands per flight, for the leading process and for a waiting one;
//  3. executions per burst: N processes call one key at the same moment (10 callers each);
//     with coordination the work should run once, without it N times.
// Saves bench/results/redis.json with --json.
const fs = require('node:fs');
const path = require('node:path');
const Redis = require('ioredis').default;
const { Singleflight } = require('..');
const { redisCoordinator } = require('../dist/redis');
const { startRedis, startMember } = require('../test/redis/helpers');
const { machine } = require('./common');

const args = process.argv.slice(2);
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
const BURSTS = 5;
const PROCESS_COUNTS = [2, 4, 8];

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function finished(member) {
  const done = await member.waitFor('done', 60_000);
  await member.exited;
  return done;
}

/** One burst: `processes` members call one key at the same moment; returns the executions. */
async function burst(redis, processes, coordinate, round) {
  const prefix = `bench-${round}`;
  const startAt = Date.now() + 1500; // after every member has started and connected
  const members = Array.from({ length: processes }, () =>
    startMember({ port: redis.port, prefix, callers: 10, workMs: 100, startAt, coordinate }),
  );
  await Promise.all(members.map(finished));
  return members.flatMap((m) => m.events.filter((e) => e.event === 'running')).length;
}

async function executionsPerBurst(redis) {
  const rows = [];
  let round = 0;
  for (const processes of PROCESS_COUNTS) {
    const coordinated = [];
    const uncoordinated = [];
    for (let i = 0; i < BURSTS; i += 1) {
      coordinated.push(await burst(redis, processes, true, (round += 1)));
      uncoordinated.push(await burst(redis, processes, false, (round += 1)));
    }
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    rows.push({ processes, bursts: BURSTS, coordinated: mean(coordinated), uncoordinated: mean(uncoordinated) });
    console.log(
      `${processes} processes: ${mean(coordinated)} executions per burst (without coordination ${mean(uncoordinated)})`,
    );
  }
  return rows;
}

/** Commands a leading and a waiting process send for one flight. */
async function commandsPerFlight(redis) {
  const prefix = 'bench-commands';
  const startAt = Date.now() + 1500;
  const config = { port: redis.port, prefix, callers: 1, workMs: 500, countCommands: true };
  const leader = startMember({ ...config, startAt });
  const waiter = startMember({ ...config, startAt: startAt + 100 });
  const [leaderDone, waiterDone] = await Promise.all([finished(leader), finished(waiter)]);
  const row = (done) => ({ ...done.rounds[0][0].commands, stats: done.rounds[0][0].stats });
  const result = { leader: row(leaderDone), waiter: row(waiterDone) };
  console.log(`commands per flight: leader ${JSON.stringify(result.leader)}, waiter ${JSON.stringify(result.waiter)}`);
  return result;
}

/** Sequential misses in one process: a plain GET, execute() without and with the coordinator. */
async function missLatency(redis) {
  const client = new Redis(redis.port);
  const coordinator = redisCoordinator({ client, prefix: 'bench-latency' });
  const plain = new Singleflight({ name: 'bench-plain' });
  const coordinated = new Singleflight({ name: 'bench-coordinated', distributed: coordinator });
  const ROUNDS = 5;
  const N = 1000;
  const samples = { get: [], plain: [], coordinated: [] };
  const time = async (into, fn) => {
    const start = process.hrtime.bigint();
    await fn();
    into.push(Number(process.hrtime.bigint() - start) / 1000);
  };
  let key = 0;
  // Interleaved rounds: the three kinds see the same machine noise.
  for (let round = 0; round < ROUNDS + 1; round += 1) {
    const keep = round > 0; // the first round warms up
    const into = (kind) => (keep ? samples[kind] : []);
    for (let i = 0; i < N; i += 1) await time(into('get'), () => client.get('bench-latency:absent'));
    for (let i = 0; i < N; i += 1) await time(into('plain'), () => plain.execute(`k${(key += 1)}`, () => 1));
    for (let i = 0; i < N; i += 1)
      await time(into('coordinated'), () => coordinated.execute(`k${(key += 1)}`, () => 1));
  }
  await coordinator.close();
  client.disconnect();
  const summary = {};
  for (const [kind, values] of Object.entries(samples)) {
    values.sort((a, b) => a - b);
    summary[kind] = { p50: percentile(values, 50), p99: percentile(values, 99), samples: values.length };
  }
  const addedP50 = summary.coordinated.p50 - summary.plain.p50;
  const result = { microseconds: summary, addedP50, addedInGetRoundTrips: addedP50 / summary.get.p50 };
  console.log(
    `miss latency p50: GET ${summary.get.p50.toFixed(1)} µs, execute ${summary.plain.p50.toFixed(1)} µs, ` +
      `coordinated ${summary.coordinated.p50.toFixed(1)} µs: +${addedP50.toFixed(1)} µs = ` +
      `${result.addedInGetRoundTrips.toFixed(2)} GET round trips`,
  );
  return result;
}

async function main() {
  const redis = await startRedis();
  try {
    const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
    const results = { machine: machine({ redis: 'redis-server from Debian, loopback' }) };
    // Latency first: the bursts leave dozens of exiting processes behind them for a while.
    if (!only || only === 'latency') results.missLatency = await missLatency(redis);
    if (!only || only === 'commands') results.commandsPerFlight = await commandsPerFlight(redis);
    if (!only || only === 'bursts') results.executionsPerBurst = await executionsPerBurst(redis);
    if (jsonOut) {
      fs.mkdirSync(path.dirname(jsonOut), { recursive: true });
      fs.writeFileSync(jsonOut, `${JSON.stringify(results, null, 2)}\n`);
      console.log(`saved ${jsonOut}`);
    }
  } finally {
    await redis.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
