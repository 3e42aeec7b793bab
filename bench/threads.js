// Across threads: W worker_threads call the same hot key at the same moment, round after round.
//   executions per flight: how often the work ran per round (threadflight: 1; any library
//     whose table is per thread: W), here next to promise-coalesce;
//   wake latency: from the moment the leader's work returns to the moment a caller in another
//     thread resumes with the value, p50/p99, next to a raw ThreadSafeFunction ping (an empty
//     call from one thread to the others through Node-API) measured in the same run, and next to
//     that ping carrying the value through v8.serialize/deserialize (structured clone's cost,
//     which threadflight pays too when another thread waits).
// Usage: node bench/threads.js [--workers 1,2,4,8] [--rounds 300] [--json out.json] [--stages]
//                              [--baseline <dir>] [--blocks n]
//   --stages also times each stage of threadflight's wake path at W = 2 (wrapping its
//   internals from the outside: the library itself carries no probes), prints the medians and
//   saves them with --json (field "stages").
//   --baseline <dir> (or THREADFLIGHT_BASELINE=<dir>): also measures the threadflight of another
//   built checkout (npm ci there first), whose workers load that copy, at every worker count
//   next to this one. The rows gain "baseline" and "p50VsBaseline".
//   --blocks n (default 1; 4 with --baseline): splits the rounds of threadflight, the baseline
//   and the raw ping into n runs each, taken in turn (forwards, then backwards: current,
//   baseline, ping, ping, baseline, current, ...) and pooled, so a machine's drift over the run
//   hits the ratios' both sides alike. 1 keeps the original order: each mode once, in turn.
// Needs the ping addon: npm run bench:threads builds it (cmake-js, -DTHREADFLIGHT_PING=ON).
const { machine: machineRecord, ROOT, checkout, describeCheckout, baselineDir } = require('./common');
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
const BASELINE = 'threadflight — baseline';
// Where each threadflight mode's workers load the library from, and the name of their table:
// two copies of the addon in one process never share a table name.
const COPIES = {
  threadflight: { dir: ROOT, name: 'bench-threads' },
  [BASELINE]: { dir: undefined, name: 'bench-threads-baseline' },
};

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
    baseline: baselineDir(value('--baseline', undefined)),
    blocks: value('--blocks', undefined),
  };
}

async function main() {
  loadPing(); // keep the ping addon mapped while workers come and go
  const { workers, rounds, json, stages, baseline, blocks: blocksGiven } = options();
  const blocks = Number(blocksGiven ?? (baseline === undefined ? 1 : 4));
  if (!Number.isInteger(blocks) || blocks < 1 || blocks > rounds)
    throw new RangeError(`--blocks must be an integer from 1 to the rounds (${rounds})`);
  const extra = { rounds, callersPerThread: CALLERS_PER_THREAD, blocks };
  if (baseline !== undefined) {
    COPIES[BASELINE].dir = baseline;
    extra.current = checkout(ROOT);
    extra.baseline = checkout(baseline);
    console.log(`current: ${describeCheckout(extra.current)}\nbaseline: ${describeCheckout(extra.baseline)}`);
  }
  const rows = [];
  const stageRows = [];
  for (const count of workers) {
    const row = { workers: count };
    if (blocks === 1) {
      // the original order
      row.threadflight = await runMode('threadflight', count, rounds, stages);
      for (const mode of ['promise-coalesce', 'raw ping', 'ping + clone'])
        row[mode] = await runMode(mode, count, rounds, stages);
    } else {
      // The ratios that matter (current / raw ping, current / baseline) from modes measured
      // side by side: `blocks` runs of each, in turn forwards and backwards, pooled.
      const rotated = ['threadflight', ...(baseline === undefined ? [] : [BASELINE]), 'raw ping'];
      const runs = [];
      for (let b = 0; b < blocks; b++) {
        const n = Math.floor((rounds * (b + 1)) / blocks) - Math.floor((rounds * b) / blocks);
        for (const mode of b % 2 === 0 ? rotated : [...rotated].reverse()) {
          if (n > 0) runs.push([mode, await runMode(mode, count, n, stages)]);
        }
      }
      for (const mode of rotated) row[mode] = pool(runs.filter(([m]) => m === mode).map(([, r]) => r));
      for (const mode of ['promise-coalesce', 'ping + clone']) row[mode] = await runMode(mode, count, rounds, stages);
    }
    for (const mode of ['threadflight', BASELINE]) {
      if (row[mode]?.stages?.length) {
        const medians = stageMedians(row[mode].stages);
        console.log(
          `${mode}: W=${count} stages, medians of ${row[mode].stages.length} (µs after the work returned): ` +
            STAGES.map((name) => `${name} ${medians[name]?.toFixed(1) ?? '—'}`).join(', '),
        );
        stageRows.push({ library: mode, workers: count, n: row[mode].stages.length, medianMicros: medians });
      }
    }
    rows.push(row);
    print(row);
  }
  const machine = machineRecord(extra);
  const saved = { machine, rows: rows.map(summary) };
  if (stages) saved.stages = stageRows;
  if (json) fs.writeFileSync(json, `${JSON.stringify(saved, null, 2)}\n`);
}

/** One result from several runs of a mode: their samples and stages together. */
function pool(results) {
  const rounds = results.reduce((sum, r) => sum + r.rounds, 0);
  return {
    rounds,
    executionsPerFlight: results.reduce((sum, r) => sum + r.executionsPerFlight * r.rounds, 0) / rounds,
    samples: results.flatMap((r) => r.samples),
    stages: results.flatMap((r) => r.stages ?? []),
  };
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
  const copy = COPIES[mode];
  const probe =
    stages && copy !== undefined && count === 2 ? new BigInt64Array(new SharedArrayBuffer(8 * STAGES.length)) : null;
  const threads = [];
  const ready = [];
  for (let i = 0; i < count; i++) {
    const thread = new Worker(__filename, { workerData: { mode, copy, index: i, control, stamps, mailbox, probe } });
    threads.push(thread);
    ready.push(
      new Promise((resolve, reject) => {
        thread.once('message', resolve);
        thread.once('error', reject);
      }),
    );
  }
  const pingIds = (await Promise.all(ready)).map((m) => m.pingId);
  const finished = threads.map(
    (thread) =>
      new Promise((resolve, reject) => {
        thread.on('message', (m) => m.samples && resolve(m));
        thread.once('error', reject);
      }),
  );
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
  const missing = [...new Set(reports.flatMap((r) => r.missingProbes ?? []))];
  if (missing.length)
    console.warn(`${mode}: --stages could not wrap ${missing.join(', ')} (internals changed?): those stages read —`);
  await Promise.all(threads.map((thread) => thread.terminate()));
  const result = { rounds, executionsPerFlight: Atomics.load(control, EXECUTIONS) / rounds, samples };
  if (probe) result.stages = reports.flatMap((r) => r.stages);
  return result;
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

/** Each stage's median (µs after the work returned), by stage name; null if never stamped. */
function stageMedians(rows) {
  return Object.fromEntries(
    STAGES.map((name, i) => {
      const xs = rows
        .map((r) => r[i])
        .filter((x) => x >= 0)
        .sort((a, b) => a - b);
      return [name, xs.length ? +xs[Math.floor(xs.length / 2)].toFixed(1) : null];
    }),
  );
}

/**
 * Wraps the internals of the threadflight in `dir` in this worker to stamp each stage into
 * `probe`. Returns what it could not find (a stage whose stamp then reads —).
 */
function probeStages(probe, dir) {
  const stamp = (i) => {
    probe[i] = process.hrtime.bigint();
  };
  const missing = [];
  const load = (file) => {
    try {
      return require(path.join(dir, 'dist', file));
    } catch {
      missing.push(`dist/${file}`);
      return {};
    }
  };
  const wire = load('wire.js');
  // The layout after the lib/ restructuring (coalescer, native-table, binding), or before it
  // (thread-group, native), so a baseline checkout can be probed too.
  const current = fs.existsSync(path.join(dir, 'dist', 'coalescer.js'));
  const leader = current ? load('coalescer.js').Coalescer : load('thread-group.js').ThreadGroup;
  const receiver = current ? load('native-table.js').NativeTable : leader;
  const native = load(current ? 'binding.js' : 'native.js');
  const open = current ? 'openTable' : 'openGroup';
  const labels = new Map([
    [wire, 'wire'],
    [leader?.prototype, 'leader.prototype'],
    [receiver?.prototype, 'receiver.prototype'],
  ]);
  const wrap = (object, name, before, after) => {
    const original = object?.[name];
    if (typeof original !== 'function') {
      missing.push(`${labels.get(object) ?? 'table'}.${name}`);
      return;
    }
    object[name] = function (...args) {
      before?.(args);
      const result = original.apply(this, args);
      after?.(args);
      return result;
    };
  };
  wrap(leader?.prototype, 'succeed', () => stamp(0));
  wrap(
    wire,
    'packValue',
    () => stamp(1),
    () => stamp(2),
  );
  wrap(receiver?.prototype, 'receive', () => stamp(4));
  wrap(
    wire,
    'unpackValue',
    () => stamp(5),
    () => stamp(6),
  );
  const openTable = native.binding?.[open];
  if (typeof openTable !== 'function') {
    missing.push(`binding.${open}`);
    return missing;
  }
  // The settle that carries an outcome: settle(kind, payload) since the flight slots (protocol
  // 9: the flight is named in the slots), settle(cell, flightId, kind, payload) before them.
  const outcomeArgs = native.binding.flightSlots !== undefined ? 0 : 2;
  native.binding[open] = (...args) => {
    const table = openTable(...args);
    wrap(table, 'settle', undefined, (settleArgs) => settleArgs.length > outcomeArgs && stamp(3));
    return table;
  };
  return missing;
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
  const base = row[BASELINE] && latency(row[BASELINE].samples);
  const compared = row[BASELINE] && {
    baseline: {
      executionsPerFlight: row[BASELINE].executionsPerFlight,
      wakeMicros: base,
      p50VsRawPing: base && ping ? +(base.p50 / ping.p50).toFixed(2) : null,
    },
    p50VsBaseline: wake && base ? +(wake.p50 / base.p50).toFixed(2) : null,
  };
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
    ...compared,
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
      (s.p50VsRawPing ? ` (p50 ${s.p50VsRawPing}× raw)` : '') +
      (s.baseline
        ? `; baseline: executions ${s.baseline.executionsPerFlight.toFixed(2)}, wake ${fmt(s.baseline.wakeMicros)}` +
          (s.baseline.p50VsRawPing ? ` (p50 ${s.baseline.p50VsRawPing}× raw)` : '') +
          (s.p50VsBaseline ? `; current/baseline p50 ${s.p50VsBaseline}×` : '')
        : ''),
  );
}

// --- worker side ---------------------------------------------------------------------------

function worker() {
  const { mode, copy, index, control, stamps, mailbox, probe } = workerData;
  let missingProbes = [];
  const stages = [];
  const v8 = require('node:v8');
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const microsSince = (stamp) => Number(process.hrtime.bigint() - stamp) / 1000;
  const samples = [];
  let execute;
  let pingIds = [];
  let onPing = () => {};
  let pingId = 0;

  if (copy !== undefined) {
    // threadflight: this checkout's or the baseline's
    if (probe) missingProbes = probeStages(probe, copy.dir);
    const { Singleflight } = require(copy.dir);
    const sf = new Singleflight({ name: copy.name });
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
    for (let last = 0; ;) {
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
    parentPort.postMessage({ samples, stages, missingProbes });
  });
  parentPort.postMessage({ pingId });
}

if (isMainThread) main();
else worker();
