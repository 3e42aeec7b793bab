// Soak test: millions of execute() calls with random outcomes, in the main thread (an unnamed
// and a named instance) and in 2 worker_threads (the same named instance, the same keys).
// Checks that every promise settles with an outcome of the right kind, that the tables are
// empty once everything has settled, and that memory after GC does not grow with call count.
//
//   node --expose-gc bench/soak.js            full run (25M calls, a few minutes), writes bench/results/soak.json
//   node --expose-gc bench/soak.js --short    CI run (6M calls, ~30-60 s), writes nothing
//   options: --calls N (main thread's calls; each worker does half), --phases N, --seed N, --json PATH
//
// Exit code 1 on any violation: an outcome of the wrong kind, a promise that never settles, a
// flight or subscriber left in a table, an uncaught error, or memory growth past the bounds below.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');
const { Singleflight } = require('..');
const common = require('./common');
const { settleGc } = common;

const KEYS = 10_000;
const HOT_KEYS = 64; // half the calls go to these, so flights are joined, in and across threads
const NAME = 'soak';
// A flight that never settles would surface as FlightTimeoutError (counted as "other").
const MAX_DURATION = 20_000;
const WINDOW = 4_000; // outstanding calls per thread at most
const BURST = 250; // calls issued between two turns of the event loop
const DRAIN_TIMEOUT_MS = 60_000; // a phase that cannot settle its calls in this long hangs
const MiB = 1024 * 1024;

// Memory bounds (after GC, sampled with every thread quiescent after each of 20 phases). The
// run's first 10% of calls is warm-up (JIT, V8 heap sizing, the arena's cell pages, malloc
// arenas of 3 threads); growth is measured from there, each point being the median of three
// neighbouring samples (around 10%, 55% and 95% of the calls).
//  - Total: end RSS may exceed the post-warm-up RSS by at most 50% of it, and never less than
//    64 MiB (~87 MiB here, where RSS settles near 175 MiB). RSS of a 3-isolate process moves
//    by tens of MiB with heap sizing and malloc arenas, so a tighter bound would flake; still,
//    over the ~21M post-warm-up calls of the full run it catches a leak of >= 4 bytes per call
//    (>= 17 in the short run), and a leaked flight costs ~300.
//  - Trend: a leak grows with call count, so the second half grows about as much as the first,
//    whereas warm-up growth is all in the first. The second half may add at most 16 MiB of RSS
//    (>= 2 bytes per call in the full run, >= 7 in the short one) and 8 MiB of heapUsed,
//    summed over the 3 isolates. Measured on a healthy build: 1-3 MiB of RSS and < 0.5 MiB
//    of heapUsed per half.
const RSS_TOTAL_BOUND = (warm) => Math.max(64 * MiB, 0.5 * warm);
const RSS_SECOND_HALF_BOUND = 16 * MiB;
const HEAP_SECOND_HALF_BOUND = 8 * MiB;

const gc = globalThis.gc;

// --- randomness: a small seeded PRNG, so a run's mix can be reproduced ----------------------
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// --- one thread's side: issue calls, classify outcomes ---------------------------------------

/** Every outcome counted, each thread's and the total alike. */
function noCounts() {
  return {
    calls: 0,
    settled: 0,
    value: 0,
    workError: 0,
    abortError: 0,
    other: 0,
    syncThrow: 0,
    valueFromOtherThread: 0,
  };
}

function makeThread(threadName, seed) {
  const rand = mulberry32(seed);
  const keys = Array.from({ length: KEYS }, (_, i) => `soak:${i}`);
  const counts = noCounts();
  const works = {
    syncValue: 0,
    resolve: 0,
    reject: 0,
    throw: 0,
    delayed: 0,
    delayedReject: 0,
    signalAware: 0,
    workAborted: 0,
  };
  const otherSamples = [];
  let forgets = 0;
  let outstanding = 0;
  let wake; // resolves when outstanding drops (window) or reaches 0 (drain)

  const pickKey = () => keys[rand() < 0.5 ? Math.floor(rand() * HOT_KEYS) : Math.floor(rand() * KEYS)];

  function workError(key, code) {
    const error = new Error(`work failed for ${key}`);
    error.code = code;
    error.key = key;
    return error;
  }

  // The leader's work; only run when the caller starts a flight. Values and errors carry the
  // key, so a caller that receives another key's outcome is caught.
  function makeWork(key) {
    const r = rand();
    const delay = 1 + Math.floor(rand() * 4);
    if (r < 0.15) return () => (works.syncValue++, { key, from: threadName });
    if (r < 0.3) return () => (works.resolve++, Promise.resolve({ key, from: threadName }));
    if (r < 0.4) return () => (works.reject++, Promise.reject(workError(key, 'SOAK_REJECT')));
    if (r < 0.5) {
      return () => {
        works.throw++;
        throw workError(key, 'SOAK_THROW');
      };
    }
    if (r < 0.8) {
      return () => (works.delayed++, new Promise((resolve) => setTimeout(resolve, delay, { key, from: threadName })));
    }
    if (r < 0.9) {
      return () => (
        works.delayedReject++,
        new Promise((_, reject) => setTimeout(reject, delay, workError(key, 'SOAK_REJECT')))
      );
    }
    // Declares the signal: stops early when every caller has left (the abandoned path).
    return (signal) =>
      new Promise((resolve, reject) => {
        works.signalAware++;
        const timer = setTimeout(resolve, delay, { key, from: threadName });
        signal.addEventListener(
          'abort',
          () => {
            works.workAborted++;
            clearTimeout(timer);
            reject(signal.reason);
          },
          { once: true },
        );
      });
  }

  function settled() {
    counts.settled++;
    outstanding--;
    if (wake !== undefined && (outstanding === 0 || outstanding < WINDOW / 2)) {
      const w = wake;
      wake = undefined;
      w();
    }
  }

  function other(what, key, detail) {
    counts.other++;
    if (otherSamples.length < 10) otherSamples.push({ thread: threadName, what, key, detail: String(detail) });
  }

  function call(sf) {
    const key = pickKey();
    const work = makeWork(key);
    let controller;
    // 20% of callers carry a signal: already aborted, aborted in the same tick, aborted after
    // 0-3 ms (racing the work), or never aborted.
    if (rand() < 0.2) {
      controller = new AbortController();
      const mode = rand();
      if (mode < 0.2) controller.abort();
      else if (mode < 0.45) queueMicrotask(() => controller.abort());
      else if (mode < 0.9) setTimeout(() => controller.abort(), Math.floor(rand() * 4));
    }
    if (rand() < 0.001) {
      sf.forget(pickKey());
      forgets++;
    }
    let promise;
    counts.calls++;
    try {
      promise = controller === undefined ? sf.execute(key, work) : sf.execute(key, work, { signal: controller.signal });
    } catch (error) {
      counts.syncThrow++;
      other('execute threw synchronously', key, error);
      return;
    }
    outstanding++;
    promise.then(
      (value) => {
        if (value !== null && typeof value === 'object' && value.key === key) {
          counts.value++;
          if (value.from !== threadName) counts.valueFromOtherThread++; // ran in another thread, cloned here
        } else {
          other('wrong value', key, JSON.stringify(value));
        }
        settled();
      },
      (error) => {
        if (
          error !== null &&
          typeof error === 'object' &&
          (error.code === 'SOAK_REJECT' || error.code === 'SOAK_THROW')
        ) {
          if (error.key === key) counts.workError++;
          else other('error of another key', key, error.key);
        } else if (controller !== undefined && controller.signal.aborted && error === controller.signal.reason) {
          counts.abortError++;
        } else {
          other('unexpected rejection', key, error && error.stack ? error.stack : error);
        }
        settled();
      },
    );
  }

  const waitFor = () => new Promise((resolve) => (wake = resolve));
  const turn = () => new Promise((resolve) => setImmediate(resolve));

  /** Issues `n` calls spread over the instances, keeping at most WINDOW outstanding. */
  async function run(n, instances) {
    for (let i = 0; i < n;) {
      const end = Math.min(n, i + BURST);
      for (; i < end; i++) call(instances.length === 1 ? instances[0] : instances[rand() < 0.5 ? 0 : 1]);
      if (outstanding >= WINDOW) await waitFor();
      else await turn();
    }
  }

  /** Waits for every call issued so far to settle; false if that takes DRAIN_TIMEOUT_MS. */
  async function drain() {
    if (outstanding === 0) return true;
    let timer;
    const timedOut = new Promise((resolve) => (timer = setTimeout(resolve, DRAIN_TIMEOUT_MS, false)));
    const done = (async () => {
      while (outstanding !== 0) await waitFor();
      return true;
    })();
    const ok = await Promise.race([done, timedOut]);
    clearTimeout(timer);
    return ok;
  }

  const report = () => ({ counts: { ...counts }, works: { ...works }, forgets, outstanding, otherSamples });
  return { run, drain, report };
}

const statsOf = (sf) => {
  const { inFlightCount, totalSubscribers } = sf.getStats();
  return { inFlightCount, totalSubscribers };
};

// --- worker: hammers the named instance, phase by phase, waiting at a barrier after each ----

async function workerMain() {
  const { index, callsPerPhase, phases, seed } = workerData;
  const named = new Singleflight({ name: NAME, maxDuration: MAX_DURATION });
  const thread = makeThread(`worker${index}`, seed);
  const inbox = [];
  let waiting;
  parentPort.on('message', (msg) => (waiting ? (waiting(msg), (waiting = undefined)) : inbox.push(msg)));
  const next = () => (inbox.length ? Promise.resolve(inbox.shift()) : new Promise((resolve) => (waiting = resolve)));
  for (let phase = 0; phase < phases; phase++) {
    await thread.run(callsPerPhase, [named]);
    parentPort.postMessage({ phase, drained: await thread.drain() });
    // Stats are read only once every thread has drained: before that, other threads' callers
    // may still be in the named table.
    if ((await next()) !== 'check') return;
    await settleGc(64 * 1024);
    parentPort.postMessage({
      phase,
      heapUsed: process.memoryUsage().heapUsed,
      stats: statsOf(named),
      report: thread.report(),
    });
    if ((await next()) !== 'go') return;
  }
}

// --- main thread ------------------------------------------------------------------------------

function parseArgs() {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : dflt;
  };
  const short = args.includes('--short');
  const phases = Number(opt('--phases', 20));
  if (!(phases >= 10)) throw new RangeError('--phases must be at least 10 (memory is judged on medians of 3 samples)');
  return {
    short,
    // Main thread's calls; each worker makes half as many (total = 2x).
    calls: Number(opt('--calls', short ? 3_000_000 : 12_500_000)),
    phases,
    seed: Number(opt('--seed', Date.now() % 1e9)),
    json: opt('--json', short ? undefined : path.join(__dirname, 'results', 'soak.json')),
  };
}

function startWorker(index, callsPerPhase, phases, seed) {
  const worker = new Worker(__filename, { workerData: { index, callsPerPhase, phases, seed } });
  const queue = [];
  const waiters = [];
  let failure;
  worker.on('message', (msg) => (waiters.length ? waiters.shift()(msg) : queue.push(msg)));
  worker.on('error', (error) => {
    failure = error;
    while (waiters.length) waiters.shift()(undefined);
  });
  return {
    worker,
    next: () =>
      queue.length
        ? Promise.resolve(queue.shift())
        : failure
          ? Promise.resolve(undefined)
          : new Promise((r) => waiters.push(r)),
    failure: () => failure,
  };
}

const mib = (bytes) => +(bytes / MiB).toFixed(1);

async function main() {
  if (typeof gc !== 'function') {
    console.error('run with node --expose-gc');
    process.exit(2);
  }
  const cfg = parseArgs();
  const violations = [];
  const fail = (message) => {
    violations.push(message);
    console.error(`VIOLATION: ${message}`);
  };
  process.on('unhandledRejection', (reason) =>
    fail(`unhandledRejection: ${reason && reason.stack ? reason.stack : reason}`),
  );
  process.on('uncaughtException', (error) => fail(`uncaughtException: ${error && error.stack ? error.stack : error}`));

  const mainPerPhase = Math.ceil(cfg.calls / cfg.phases);
  const workerPerPhase = Math.ceil(mainPerPhase / 2);
  const warmPhases = Math.max(1, Math.round(cfg.phases / 10));
  const unnamed = new Singleflight({ maxDuration: MAX_DURATION });
  const named = new Singleflight({ name: NAME, maxDuration: MAX_DURATION });
  const thread = makeThread('main', cfg.seed);
  const workers = [0, 1].map((i) => startWorker(i, workerPerPhase, cfg.phases, cfg.seed + 1 + i));

  console.log(
    `soak${cfg.short ? ' (short)' : ''}: ${cfg.phases} phases x (${mainPerPhase} main + 2 x ${workerPerPhase} worker calls), ` +
      `${KEYS} keys, seed ${cfg.seed}`,
  );
  const started = Date.now();
  const samples = [];
  let workerReports = [];
  let totalCalls = 0;
  for (let phase = 0; phase < cfg.phases; phase++) {
    await thread.run(mainPerPhase, [unnamed, named]);
    if (!(await thread.drain()))
      fail(`phase ${phase}: main thread's calls did not settle within ${DRAIN_TIMEOUT_MS} ms`);
    const drained = await Promise.all(workers.map((w) => w.next()));
    workers.forEach((w) => w.failure() && fail(`worker error: ${w.failure().stack}`));
    if (drained.some((m) => m === undefined)) break;
    drained.forEach(
      (m, i) => m.drained || fail(`phase ${phase}: worker${i}'s calls did not settle within ${DRAIN_TIMEOUT_MS} ms`),
    );
    // Every thread is quiescent: no caller waits anywhere, so no table may hold a flight.
    workers.forEach((w) => w.worker.postMessage('check'));
    await settleGc(64 * 1024);
    const msgs = await Promise.all(workers.map((w) => w.next()));
    workers.forEach((w) => w.failure() && fail(`worker error: ${w.failure().stack}`));
    if (msgs.some((m) => m === undefined)) break;
    workerReports = msgs.map((m) => m.report);
    const tables = { unnamed: statsOf(unnamed), named: statsOf(named), workers: msgs.map((m) => m.stats) };
    for (const [where, s] of [
      ['main/unnamed', tables.unnamed],
      ['main/named', tables.named],
      ...tables.workers.map((s, i) => [`worker${i}/named`, s]),
    ]) {
      if (s.inFlightCount !== 0 || s.totalSubscribers !== 0)
        fail(`phase ${phase}: ${where} stats ${JSON.stringify(s)} with every caller settled`);
    }
    const mem = process.memoryUsage();
    totalCalls = thread.report().counts.calls + workerReports.reduce((sum, r) => sum + r.counts.calls, 0);
    samples.push({
      phase,
      calls: totalCalls,
      rss: mem.rss,
      heapUsed: mem.heapUsed + msgs.reduce((sum, m) => sum + m.heapUsed, 0),
      heapUsedMain: mem.heapUsed,
      external: mem.external,
      arrayBuffers: mem.arrayBuffers,
      elapsedS: +((Date.now() - started) / 1000).toFixed(1),
    });
    const s = samples[samples.length - 1];
    console.log(
      `  phase ${String(phase + 1).padStart(2)}/${cfg.phases}: ${String(totalCalls).padStart(8)} calls, rss ${mib(s.rss)} MiB, heapUsed (3 threads) ${mib(s.heapUsed)} MiB, external ${mib(s.external)} MiB, ${s.elapsedS} s`,
    );
    if (violations.length) break;
    workers.forEach((w) => w.worker.postMessage('go'));
  }
  await Promise.all(workers.map((w) => w.worker.terminate()));
  const elapsedS = (Date.now() - started) / 1000;

  // --- outcomes --------------------------------------------------------------------------------
  const reports = [
    { thread: 'main', ...thread.report() },
    ...workerReports.map((r, i) => ({ thread: `worker${i}`, ...r })),
  ];
  const total = noCounts();
  for (const r of reports) for (const k of Object.keys(total)) total[k] += r.counts[k];
  if (total.other !== 0)
    fail(
      `${total.other} outcomes of the wrong kind, e.g. ${JSON.stringify(reports.flatMap((r) => r.otherSamples).slice(0, 3))}`,
    );
  if (total.settled !== total.calls - total.syncThrow)
    fail(`${total.calls - total.syncThrow - total.settled} promises never settled`);
  const plannedCalls = cfg.phases * (mainPerPhase + 2 * workerPerPhase);
  if (violations.length === 0 && total.calls !== plannedCalls)
    fail(`made ${total.calls} calls, planned ${plannedCalls}`);

  // --- memory ------------------------------------------------------------------------------------
  let memory;
  if (samples.length === cfg.phases) {
    // Each point is the median of 3 neighbouring samples: RSS after GC can dip or spike once
    // by tens of MiB (heap pages released, then taken back), which must not decide the test.
    const level = (at) => {
      const around = samples.slice(Math.max(0, at - 1), at + 2);
      const med = (field) => around.map((x) => x[field]).sort((a, b) => a - b)[Math.floor(around.length / 2)];
      return { calls: samples[at].calls, rss: med('rss'), heapUsed: med('heapUsed') };
    };
    const warm = level(warmPhases);
    const mid = level(Math.round((warmPhases + cfg.phases - 2) / 2));
    const end = level(cfg.phases - 2);
    const rssBound = RSS_TOTAL_BOUND(warm.rss);
    memory = {
      warmUp: { calls: warm.calls, rssMiB: mib(warm.rss), heapUsedMiB: mib(warm.heapUsed) },
      middle: { calls: mid.calls, rssMiB: mib(mid.rss), heapUsedMiB: mib(mid.heapUsed) },
      end: { calls: end.calls, rssMiB: mib(end.rss), heapUsedMiB: mib(end.heapUsed) },
      rssGrowthMiB: {
        firstHalf: mib(mid.rss - warm.rss),
        secondHalf: mib(end.rss - mid.rss),
        total: mib(end.rss - warm.rss),
      },
      heapUsedGrowthMiB: {
        firstHalf: mib(mid.heapUsed - warm.heapUsed),
        secondHalf: mib(end.heapUsed - mid.heapUsed),
        total: mib(end.heapUsed - warm.heapUsed),
      },
      bounds: {
        rssTotalMiB: mib(rssBound),
        rssSecondHalfMiB: mib(RSS_SECOND_HALF_BOUND),
        heapUsedSecondHalfMiB: mib(HEAP_SECOND_HALF_BOUND),
      },
    };
    if (end.rss - warm.rss > rssBound)
      fail(`RSS grew ${mib(end.rss - warm.rss)} MiB after warm-up (bound ${mib(rssBound)} MiB)`);
    if (end.rss - mid.rss > RSS_SECOND_HALF_BOUND)
      fail(`RSS grew ${mib(end.rss - mid.rss)} MiB in the second half (bound ${mib(RSS_SECOND_HALF_BOUND)} MiB)`);
    if (end.heapUsed - mid.heapUsed > HEAP_SECOND_HALF_BOUND)
      fail(
        `heapUsed grew ${mib(end.heapUsed - mid.heapUsed)} MiB in the second half (bound ${mib(HEAP_SECOND_HALF_BOUND)} MiB)`,
      );
  } else {
    fail(`stopped after ${samples.length} of ${cfg.phases} phases`);
  }

  // --- summary -------------------------------------------------------------------------------------
  const machine = common.machine();
  console.log(
    `\n${machine.cpu}, ${machine.cores} cores, node ${machine.node}; ${elapsedS.toFixed(1)} s, ${Math.round(total.calls / elapsedS)} calls/s`,
  );
  console.table(
    reports.map((r) => ({
      thread: r.thread,
      calls: r.counts.calls,
      value: r.counts.value,
      'of which cross-thread': r.counts.valueFromOtherThread,
      'work error': r.counts.workError,
      AbortError: r.counts.abortError,
      other: r.counts.other,
      forgets: r.forgets,
    })),
  );
  console.table([
    {
      thread: 'all',
      calls: total.calls,
      value: total.value,
      'work error': total.workError,
      AbortError: total.abortError,
      other: total.other,
    },
  ]);
  const runs = reports.reduce((acc, r) => {
    for (const [k, v] of Object.entries(r.works)) acc[k] = (acc[k] ?? 0) + v;
    return acc;
  }, {});
  const workRuns =
    runs.syncValue + runs.resolve + runs.reject + runs.throw + runs.delayed + runs.delayedReject + runs.signalAware;
  console.log(
    `work ran ${workRuns} times for ${total.calls} calls (${(total.calls / workRuns).toFixed(2)} calls per flight); by kind: ${JSON.stringify(runs)}`,
  );
  if (memory) {
    console.log(
      `memory after GC (RSS / heapUsed of 3 threads, MiB): post-warm-up ${memory.warmUp.rssMiB} / ${memory.warmUp.heapUsedMiB}, ` +
        `middle ${memory.middle.rssMiB} / ${memory.middle.heapUsedMiB}, end ${memory.end.rssMiB} / ${memory.end.heapUsedMiB}`,
    );
    console.log(
      `growth first half / second half: RSS ${memory.rssGrowthMiB.firstHalf} / ${memory.rssGrowthMiB.secondHalf} MiB, ` +
        `heapUsed ${memory.heapUsedGrowthMiB.firstHalf} / ${memory.heapUsedGrowthMiB.secondHalf} MiB ` +
        `(bounds: total RSS +${memory.bounds.rssTotalMiB}, second half RSS +${memory.bounds.rssSecondHalfMiB}, heapUsed +${memory.bounds.heapUsedSecondHalfMiB})`,
    );
  }
  console.log(violations.length === 0 ? 'soak: OK' : `soak: FAILED (${violations.length} violation(s))`);

  if (cfg.json) {
    const result = {
      machine,
      config: {
        short: cfg.short,
        phases: cfg.phases,
        mainCallsPerPhase: mainPerPhase,
        workerCallsPerPhase: workerPerPhase,
        workers: 2,
        keys: KEYS,
        hotKeys: HOT_KEYS,
        seed: cfg.seed,
      },
      elapsedS: +elapsedS.toFixed(1),
      outcomes: { total, byThread: reports.map((r) => ({ thread: r.thread, ...r.counts, forgets: r.forgets })) },
      workRuns: runs,
      memory,
      samples: samples.map((s) => ({ ...s, rssMiB: mib(s.rss), heapUsedMiB: mib(s.heapUsed) })),
      violations,
      ok: violations.length === 0,
    };
    fs.mkdirSync(path.dirname(cfg.json), { recursive: true });
    fs.writeFileSync(cfg.json, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${path.relative(process.cwd(), cfg.json)}`);
  }
  process.exitCode = violations.length === 0 ? 0 : 1;
}

if (isMainThread) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  workerMain().catch((error) => {
    // Surfaces in the main thread as the worker's 'error' event.
    throw error;
  });
}
