// Memory benchmark.
//  (a) Bytes per in-flight entry: N flights with distinct keys whose work stays pending, in an
//      unnamed instance, a named instance and a plain Map + Promise singleflight; heapUsed,
//      external and RSS after GC, before and after, divided by N. A control run that only
//      creates the same pending work promises is subtracted to give the table's own cost.
//      Then every flight settles, and memory must come back (or, for RSS, which the allocator
//      keeps, be reused by a second round of N flights rather than added to).
//  (b) RSS stays flat: 10M calls (hits and misses) per instance, RSS after GC every 1M calls.
// Each measurement runs in a child process of its own, so one's freed memory (which the
// allocator keeps) does not hide the next one's growth.
//
//   node --expose-gc bench/memory.js [--flights N] [--calls N] [--reps N] [--json PATH]
//
// Exits non-zero only on broken invariants (flights left in a table, counts that do not
// match), never on the numbers.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const common = require('./common');
const { settleGc } = common;

const MiB = 1024 * 1024;
const gc = globalThis.gc;

async function snapshot() {
  await settleGc(16 * 1024);
  const { rss, heapUsed, external } = process.memoryUsage();
  return { rss, heapUsed, external };
}

/** The usual JavaScript singleflight, the baseline. */
function mapSingleflight() {
  const flights = new Map();
  return {
    execute(key, work) {
      let promise = flights.get(key);
      if (promise === undefined) {
        promise = work().finally(() => flights.delete(key));
        flights.set(key, promise);
      }
      return promise;
    },
    stats: () => ({ inFlightCount: flights.size, totalSubscribers: flights.size }),
  };
}

function makeInstance(kind) {
  if (kind === 'map') return mapSingleflight();
  const { Singleflight } = require('..');
  // maxDuration Infinity: nothing expires, so the flights stay pending however long the measurement takes.
  const options = { maxDuration: Infinity };
  if (kind === 'named') options.name = `memory-${process.pid}`;
  const sf = new Singleflight(options);
  return { execute: (key, work) => sf.execute(key, work), stats: () => sf.getStats() };
}

// --- (a) one child: N pending flights --------------------------------------------------------

async function childEntries(kind, n) {
  const errors = [];
  const keys = Array.from({ length: n }, (_, i) => `flight:${i}`);
  const resolvers = new Array(n).fill(undefined);
  const instance = kind === 'control' ? undefined : makeInstance(kind);
  // Warm the code paths (and the native arena's first page) outside the measurement.
  if (instance)
    await Promise.all(Array.from({ length: 1000 }, (_, i) => instance.execute(`warm:${i}`, () => Promise.resolve(i))));

  // Returns memory with the N flights pending; leaves them settled and dropped.
  async function round(label) {
    let promises = new Array(n);
    for (let i = 0; i < n; i++) {
      const work = () => new Promise((resolve) => (resolvers[i] = resolve));
      promises[i] = instance ? instance.execute(keys[i], work) : work();
    }
    const during = await snapshot();
    if (instance) {
      const s = instance.stats();
      if (s.inFlightCount !== n || s.totalSubscribers !== n)
        errors.push(`${kind} ${label}: ${n} pending flights but stats ${JSON.stringify(s)}`);
    }
    for (let i = 0; i < n; i++) resolvers[i](i);
    const values = await Promise.all(promises);
    if (values.some((v, i) => v !== i)) errors.push(`${kind} ${label}: a caller got another flight's value`);
    resolvers.fill(undefined);
    promises = undefined;
    if (instance) {
      const s = instance.stats();
      if (s.inFlightCount !== 0 || s.totalSubscribers !== 0)
        errors.push(`${kind} ${label}: every flight settled but stats ${JSON.stringify(s)}`);
    }
    return during;
  }

  const before = await snapshot();
  const during = await round('round 1');
  const after = await snapshot();
  // A second round: memory that the allocator kept after round 1 must be reused, not added to.
  await round('round 2');
  const after2 = await snapshot();
  return { kind, n, before, during, after, after2, errors };
}

// --- (b) one child: 10M calls, RSS every 1M ------------------------------------------------------

async function childDrift(kind, calls, every) {
  const errors = [];
  const instance = makeInstance(kind);
  const keys = Array.from({ length: 10_000 }, (_, i) => `drift:${i}`);
  const value = { ok: true };
  let runs = 0;
  const work = () => (runs++, Promise.resolve(value));
  // Seeded, so both instances see the same mix.
  let seed = 12345;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;

  const series = [];
  const sample = async (done) => {
    const m = await snapshot();
    const s = instance.stats();
    if (s.inFlightCount !== 0 || s.totalSubscribers !== 0)
      errors.push(`${kind} after ${done} calls: stats ${JSON.stringify(s)}`);
    series.push({
      calls: done,
      rssMiB: +(m.rss / MiB).toFixed(1),
      heapUsedMiB: +(m.heapUsed / MiB).toFixed(1),
      externalMiB: +(m.external / MiB).toFixed(1),
    });
  };

  await sample(0);
  const started = process.hrtime.bigint();
  let done = 0;
  let k = 0;
  const batch = [];
  for (let next = every; done < calls; next = Math.min(calls, next + every)) {
    while (done < next) {
      // About 1000 calls per batch: half the flights have one caller (a miss), the others 2-10
      // (one miss, the rest hits); keys rotate through 10k, so they are distinct within a batch.
      batch.length = 0;
      while (batch.length < 1000 && done < next) {
        const key = keys[k++ % keys.length];
        const callers = rand() < 0.5 ? 1 : 2 + Math.floor(rand() * 9);
        for (let c = 0; c < callers && done < next; c++, done++) batch.push(instance.execute(key, work));
      }
      await Promise.all(batch);
    }
    await sample(done);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    kind,
    calls,
    flights: runs,
    hitRatio: +(1 - runs / calls).toFixed(3),
    seconds: +seconds.toFixed(1),
    series,
    errors,
  };
}

// --- parent ----------------------------------------------------------------------------------------

function runChild(args) {
  const out = spawnSync(process.execPath, ['--expose-gc', __filename, '--child', ...args.map(String)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * MiB,
  });
  if (out.status !== 0) throw new Error(`child ${args.join(' ')} exited with ${out.status}`);
  return JSON.parse(out.stdout.trim().split('\n').pop());
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const perEntry = (runs, field) => median(runs.map((r) => (r.during[field] - r.before[field]) / r.n));
const residual = (runs, field, when = 'after') => median(runs.map((r) => (r[when][field] - r.before[field]) / MiB));

function parentMain() {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : dflt;
  };
  const n = Number(opt('--flights', 100_000));
  const calls = Number(opt('--calls', 10_000_000));
  const reps = Number(opt('--reps', 3));
  const jsonPath = opt('--json', path.join(__dirname, 'results', 'memory.json'));
  const machine = common.machine();
  const errors = [];
  console.log(`${machine.cpu}, ${machine.cores} cores, node ${machine.node}`);

  // (a) Kinds interleaved across repetitions; medians.
  console.log(`\n(a) ${n} pending flights with distinct keys, after GC; median of ${reps} child processes each`);
  const kinds = ['control', 'map', 'unnamed', 'named'];
  const runs = Object.fromEntries(kinds.map((k) => [k, []]));
  for (let r = 0; r < reps; r++) for (const kind of kinds) runs[kind].push(runChild(['entries', kind, n]));
  for (const kind of kinds) for (const run of runs[kind]) errors.push(...run.errors);
  const control = { heapUsed: perEntry(runs.control, 'heapUsed'), rss: perEntry(runs.control, 'rss') };
  const entries = kinds.map((kind) => {
    const heap = perEntry(runs[kind], 'heapUsed');
    const external = perEntry(runs[kind], 'external');
    const rss = perEntry(runs[kind], 'rss');
    return {
      table: {
        control: 'control: pending work only',
        map: 'plain Map + Promise',
        unnamed: 'threadflight unnamed',
        named: 'threadflight named',
      }[kind],
      kind,
      heapUsedPerEntry: Math.round(heap),
      externalPerEntry: Math.round(external),
      rssPerEntry: Math.round(rss),
      netHeapUsedPerEntry: kind === 'control' ? 0 : Math.round(heap - control.heapUsed),
      netRssPerEntry: kind === 'control' ? 0 : Math.round(rss - control.rss),
      residualAfterSettleMiB: {
        heapUsed: +residual(runs[kind], 'heapUsed').toFixed(2),
        rss: +residual(runs[kind], 'rss').toFixed(1),
      },
      residualAfterSecondRoundMiB: {
        heapUsed: +residual(runs[kind], 'heapUsed', 'after2').toFixed(2),
        rss: +residual(runs[kind], 'rss', 'after2').toFixed(1),
      },
    };
  });
  console.table(
    entries.map((e) => ({
      table: e.table,
      'heapUsed B/entry': e.heapUsedPerEntry,
      'external B/entry': e.externalPerEntry,
      'RSS B/entry': e.rssPerEntry,
      'net heap B/entry': e.netHeapUsedPerEntry,
      'net RSS B/entry': e.netRssPerEntry,
      'after settle: heap MiB': e.residualAfterSettleMiB.heapUsed,
      'after settle: RSS MiB': e.residualAfterSettleMiB.rss,
      'after 2nd round: RSS MiB': e.residualAfterSecondRoundMiB.rss,
    })),
  );
  console.log('net = minus the control (the pending work promises and their resolvers themselves);');
  console.log(
    '"after settle": memory left after every flight settled and was dropped, vs before (RSS: the allocator keeps freed pages);',
  );
  console.log(
    '"after 2nd round": the same again after N more flights came and went: no more than after the first means reuse, not a leak',
  );

  // (b)
  console.log(
    `\n(b) ${calls} calls per instance (half the flights 1 caller, half 2-10), RSS after GC every ${calls / 10} calls`,
  );
  const drift = [];
  for (const kind of ['unnamed', 'named']) {
    const d = runChild(['drift', kind, calls, calls / 10]);
    errors.push(...d.errors);
    const rss = d.series.map((s) => s.rssMiB);
    // Drift from the first sample after warm-up (1/10 of the calls): JIT and heap sizing are done by then.
    const base = rss[1];
    d.maxDriftMiB = +Math.max(...rss.slice(1).map((x) => Math.abs(x - base))).toFixed(1);
    d.endMinusWarmMiB = +(rss[rss.length - 1] - base).toFixed(1);
    drift.push(d);
    console.log(
      `  ${kind.padEnd(7)}: ${d.seconds} s, hit ratio ${d.hitRatio}; RSS MiB ${rss.join(' ')}; ` +
        `max drift after the first ${calls / 10} calls ${d.maxDriftMiB} MiB (end - then: ${d.endMinusWarmMiB})`,
    );
  }

  fs.mkdirSync(path.dirname(jsonPath), { recursive: true });
  fs.writeFileSync(
    jsonPath,
    `${JSON.stringify({ machine, entries: { flights: n, reps, results: entries }, drift: drift.map(({ errors: _, ...d }) => d), errors, ok: errors.length === 0 }, null, 2)}\n`,
  );
  console.log(`\nwrote ${path.relative(process.cwd(), jsonPath)}`);
  if (errors.length) {
    for (const e of errors) console.error(`BROKEN INVARIANT: ${e}`);
    process.exitCode = 1;
  }
}

if (typeof gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(2);
}
const childAt = process.argv.indexOf('--child');
if (childAt >= 0) {
  const [what, kind, a, b] = process.argv.slice(childAt + 1);
  (what === 'entries' ? childEntries(kind, Number(a)) : childDrift(kind, Number(a), Number(b))).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
} else {
  parentMain();
}
