// Across threads: W worker_threads call the same hot key at the same moment, round after round.
//   executions per flight: how often the work ran per round (threadflight: 1; any library
//     whose table is per thread: W), here next to promise-coalesce;
//   wake latency: from the moment the leader's work returns to the moment a caller in another
//     thread resumes with the value, p50/p99, next to a raw ThreadSafeFunction ping (an empty
//     call from one thread to the others through Node-API) measured in the same run, and next to
//     that ping carrying the value through v8.serialize/deserialize (structured clone's cost,
//     which threadflight pays too when another thread waits).
// Usage: node bench/threads.js [--workers 1,2,4,8] [--rounds 300] [--json out.json] [--stages]
//   --stages also times each stage of threadflight's wake path at W = 2 (wrapping its
//   internals from the outside: the library itself carries no probes) and prints the medians.
// Needs the ping addon: npm run bench:threads builds it (cmake-js, -DTHREADFLIGHT_PING=ON).
const { machine: machineRecord } = require('./common');
const fs = require('node:fs');
const path = require('node:path');
const { Worker, isMainThread, workerData, parentPort } = require('node:worker_threads');

const ROUND = 0; // control words in a shared Int32Array
const DONE = 1;
const EXECUTIONS = 2;
const ARRIVED = 3; // threads that have made their calls this round
const THREADS = 4;
const FAILED = 5; // set by a worker whose round threw: the main thread stops instead of waiting
const CALLERS_PER_THREAD = 10;


function loadPing() {
  const file = path.join(__dirname, '..', 'build-ping', 'Release', 'threadflight_ping.node');
  if (!fs.existsSync(file)) {
    console.error(`${file} is missing: run "npm run bench:threads", which builds it first`);
    process.exit(2);
  }
  return require(file);
}

function options() {
  const args = process.argv.slice(2);
  const value = (flag, fallback) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : fallback);
  return {
    workers: value('--workers', '1,2,4,8').split(',').map(Number),
    rounds: Number(value('--rounds', 300)),
    json: value('--json', undefined),
    stages: args.includes('--stages'),
  };
}

async function main() {
  loadPing(); // keep the ping addon mapped while workers come and go
  const { workers, rounds, json, stages } = options();
  const rows = [];
  for (const count of workers) {
    const row = { workers: count };
    for (const mode of ['threadflight', 'promise-coalesce', 'raw ping', 'ping + clone']) {
      const result = await runMode(mode, count, rounds, stages);
      row[mode] = result;
    }
    rows.push(row);
    print(row);
  }
  const machine = machineRecord({ rounds, callersPerThread: CALLERS_PER_THREAD });
  if (json) fs.writeFileSync(json, `${JSON.stringify({ machine, rows: rows.map(summary) }, null, 2)}\n`);
}

/** Blocks until every worker has finished `round`; throws if one failed or all stalled. */
function waitForRound(control, count, round) {
  let stalls = 0;
  for (let done = Atomics.load(control, DONE); done < count; done = Atomics.load(control, DONE)) {
    if (Atomics.load(control, FAILED) !== 0) throw new Error(`a worker failed in round ${round} (its error follows)`);
    if (Atomics.wait(control, DONE, done, 10_000) === 'timed-out' && ++stalls === 3) {
      throw new Error(`round ${round}: ${count - done} of ${count} workers made no progress for 30 s`);
    }
  }
  if (Atomics.load(control, FAILED) !== 0) throw new Error(`a worker failed in round ${round} (its error follows)`);
}

/** Starts `count` workers in `mode`, runs the rounds, and gathers their latency samples. */
async function runMode(mode, count, rounds, stages) {
  const control = new Int32Array(new SharedArrayBuffer(4 * 8));
  control[THREADS] = count; // read by the workers as the round's thread count
  const stamps = new BigInt64Array(new SharedArrayBuffer(8 * (rounds + 1)));
  const mailbox = new Uint8Array(new SharedArrayBuffer(4096)); // 'ping + clone': the value's bytes
  // Stages are timed with one waiting thread only (W = 2): more would overwrite each other's.
  const probe = stages && mode === 'threadflight' && count === 2 ? new BigInt64Array(new SharedArrayBuffer(8 * STAGES.length)) : null;
  const threads = [];
  const ready = [];
  for (let i = 0; i < count; i++) {
    const thread = new Worker(__filename, { workerData: { mode, index: i, control, stamps, mailbox, probe } });
    threads.push(thread);
    ready.push(new Promise((resolve, reject) => {
      thread.once('message', resolve);
      thread.once('error', reject);
    }));
  }
  const pingIds = (await Promise.all(ready)).map((m) => m.pingId);
  const finished = threads.map((thread) => new Promise((resolve, reject) => {
    thread.on('message', (m) => m.samples && resolve(m));
    thread.once('error', reject);
  }));
  for (const thread of threads) thread.postMessage({ pingIds });
  for (let round = 1; round <= rounds; round++) {
    Atomics.store(control, DONE, 0);
    Atomics.store(control, ARRIVED, 0);
    Atomics.store(control, ROUND, round);
    Atomics.notify(control, ROUND);
    waitForRound(control, count, round);
  }
  Atomics.store(control, ROUND, -1);
  Atomics.notify(control, ROUND);
  const reports = await Promise.all(finished);
  const samples = reports.flatMap((r) => r.samples);
  if (probe) printStages(count, reports.flatMap((r) => r.stages));
  await Promise.all(threads.map((thread) => thread.terminate()));
  return { executionsPerFlight: Atomics.load(control, EXECUTIONS) / rounds, samples };
}

// The wake path's stages, in order; each is timed in µs after the leader's work returned.
const STAGES = [
  'leader settles',
  'serialize starts',
  'serialize ends',
  'table settle returns',
  'waiting thread gets the message',
  'deserialize starts',
  'deserialize ends',
  'caller resumes',
];

function printStages(count, rows) {
  if (rows.length === 0) return;
  const medians = STAGES.map((_, i) => {
    const xs = rows.map((r) => r[i]).filter((x) => x >= 0).sort((a, b) => a - b);
    return xs[Math.floor(xs.length / 2)];
  });
  console.log(`W=${count} stages, medians of ${rows.length} (µs after the work returned): ` +
    STAGES.map((name, i) => `${name} ${medians[i]?.toFixed(1)}`).join(', '));
}

/** Wraps threadflight's internals in this worker to stamp each stage into `probe`. */
function probeStages(probe) {
  const stamp = (i) => { probe[i] = process.hrtime.bigint(); };
  const wire = require('../dist/wire.js');
  const native = require('../dist/native.js');
  const { ThreadGroup } = require('../dist/thread-group.js');
  const wrap = (object, name, before, after) => {
    const original = object[name];
    object[name] = function (...args) {
      before?.(args);
      const result = original.apply(this, args);
      after?.(args);
      return result;
    };
  };
  wrap(ThreadGroup.prototype, 'succeed', () => stamp(0));
  wrap(wire, 'packValue', () => stamp(1), () => stamp(2));
  wrap(ThreadGroup.prototype, 'receive', () => stamp(4));
  wrap(wire, 'unpackValue', () => stamp(5), () => stamp(6));
  const openGroup = native.binding.openGroup;
  native.binding.openGroup = (...args) => {
    const table = openGroup(...args);
    wrap(table, 'settle', undefined, (settleArgs) => settleArgs.length > 2 && stamp(3));
    return table;
  };
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

function latency(samples) {
  if (samples.length === 0) return null;
  const sorted = Float64Array.from(samples).sort();
  return { p50: +percentile(sorted, 50).toFixed(1), p99: +percentile(sorted, 99).toFixed(1), n: sorted.length };
}

function summary(row) {
  const wake = latency(row.threadflight.samples);
  const ping = latency(row['raw ping'].samples);
  const pingClone = latency(row['ping + clone'].samples);
  return {
    workers: row.workers,
    executionsPerFlight: {
      threadflight: row.threadflight.executionsPerFlight,
      'promise-coalesce': row['promise-coalesce'].executionsPerFlight,
    },
    wakeMicros: wake,
    rawPingMicros: ping,
    pingWithCloneMicros: pingClone,
    p50VsRawPing: wake && ping ? +(wake.p50 / ping.p50).toFixed(2) : null,
  };
}

function print(row) {
  const s = summary(row);
  const fmt = (l) => (l ? `${l.p50} / ${l.p99} µs` : '— (no other thread)');
  console.log(
    `W=${s.workers}: executions per flight: threadflight ${s.executionsPerFlight.threadflight.toFixed(2)}, ` +
      `promise-coalesce ${s.executionsPerFlight['promise-coalesce'].toFixed(2)}; ` +
      `wake p50/p99: threadflight ${fmt(s.wakeMicros)}, raw TSFN ping ${fmt(s.rawPingMicros)}, ` +
      `ping + clone ${fmt(s.pingWithCloneMicros)}` +
      (s.p50VsRawPing ? ` (p50 ${s.p50VsRawPing}× raw)` : ''),
  );
}

// --- worker side ---------------------------------------------------------------------------

function worker() {
  const { mode, index, control, stamps, mailbox, probe } = workerData;
  const stages = [];
  const v8 = require('node:v8');
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const microsSince = (stamp) => Number(process.hrtime.bigint() - stamp) / 1000;
  const samples = [];
  let execute;
  let pingIds = [];
  let onPing = () => {};
  let pingId = 0;

  if (mode === 'threadflight') {
    if (probe) probeStages(probe);
    const { Singleflight } = require('..');
    const sf = new Singleflight({ name: 'bench-threads' });
    execute = (key, work) => sf.execute(key, work);
  } else if (mode === 'promise-coalesce') {
    const { coalesceAsync } = require('promise-coalesce');
    execute = (key, work) => coalesceAsync(key, work);
  } else {
    pingId = loadPing().listen(() => onPing());
  }

  // Every thread has made its calls: what happens next is up to the library, not to how
  // late the scheduler woke a thread. (Threads start each round within microseconds to a few
  // milliseconds of each other on a loaded machine.)
  const everyoneArrived = async () => {
    while (Atomics.load(control, ARRIVED) < control[THREADS]) await sleep(1);
  };

  const valueOf = (round) => ({ round, user: { id: 123, name: 'Ada', roles: ['admin', 'dev'] } });

  // The work every library runs: count it, wait for every thread to have called, stamp the
  // moment it returns.
  const work = (round) => async () => {
    Atomics.add(control, EXECUTIONS, 1);
    await everyoneArrived();
    const value = valueOf(round);
    stamps[round] = process.hrtime.bigint();
    return value;
  };

  async function coalescingRound(round) {
    const mine = work(round);
    let ranHere = false;
    const counted = async () => {
      ranHere = true;
      return mine();
    };
    const calls = Array.from({ length: CALLERS_PER_THREAD }, () => execute(`hot:${round}`, counted));
    Atomics.add(control, ARRIVED, 1);
    const first = await Promise.race(calls);
    if (first.round !== round) throw new Error(`round ${round} got the value of round ${first.round}`);
    if (ranHere) return;
    samples.push(microsSince(stamps[round]));
    if (probe) {
      const resumed = process.hrtime.bigint();
      stages.push([...probe.slice(0, 7), resumed].map((t) => Number(t - stamps[round]) / 1000));
    }
  }

  async function pingRound(round) {
    if (index === 0) {
      Atomics.add(control, ARRIVED, 1);
      await everyoneArrived();
      const value = valueOf(round);
      stamps[round] = process.hrtime.bigint();
      if (mode === 'ping + clone') {
        const bytes = v8.serialize(value);
        mailbox.set(bytes);
      }
      loadPing().send(pingIds.filter((id) => id !== pingId));
      return;
    }
    const pinged = new Promise((resolve) => {
      onPing = resolve;
    });
    Atomics.add(control, ARRIVED, 1);
    await pinged;
    if (mode === 'ping + clone' && v8.deserialize(Buffer.from(mailbox.buffer)).round !== round) {
      throw new Error(`round ${round}: stale value in the mailbox`);
    }
    samples.push(microsSince(stamps[round]));
  }

  parentPort.once('message', async (message) => {
    pingIds = message.pingIds;
    for (let last = 0; ; ) {
      Atomics.wait(control, ROUND, last);
      const round = Atomics.load(control, ROUND);
      if (round < 0) break;
      if (round === last) continue;
      last = round;
      try {
        await (mode === 'raw ping' || mode === 'ping + clone' ? pingRound(round) : coalescingRound(round));
      } catch (error) {
        Atomics.store(control, FAILED, 1);
        Atomics.add(control, DONE, 1);
        Atomics.notify(control, DONE);
        throw error;
      }
      Atomics.add(control, DONE, 1);
      Atomics.notify(control, DONE);
    }
    parentPort.postMessage({ samples, stages });
  });
  parentPort.postMessage({ pingId });
}

if (isMainThread) main();
else worker();
