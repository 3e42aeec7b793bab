// Per-call overhead of threadflight against a plain Map + Promise singleflight and npm peers,
// in one process, with interleaved rounds and medians so machine noise hits all alike.
//   miss: one caller per flight (every call starts and settles a flight)
//   hit:  100 callers per flight (99 of them join)
// Every flight uses a fresh key, so libraries that also cache (lru-cache) never serve a hit
// from their cache.
// Usage: node bench/overhead.js [rounds] [--json results.json] [--baseline <dir>] [--only <regex>] [--floors]
//   --baseline <dir> (or THREADFLIGHT_BASELINE=<dir>): also load the threadflight of another
//     built checkout (npm ci there first) and run its unnamed and named instances as two more
//     contenders, interleaved round by round with the rest, so one run shows before/after.
//     Each current/baseline pair runs side by side and swaps places every other round; "vs
//     baseline" is the median of the per-round ratios current / baseline (their range next
//     to it; the ratio of the two medians is saved as vsBaselineOfMedians).
//   --only <regex>: only the contenders whose name matches (plain Map always runs: every ratio
//     is against it; a baseline contender runs with its current one), e.g.
//     --only 'plain Map|threadflight' for a quick A/B, --only '\(named\)' for the named pair.
//   --floors: misses only, two more contenders that coalesce nothing but pay a named table's
//     native part (a join and a settle on a process-wide table, through Node-API, per call):
//     "plain Map + native table" (what those two calls cost on top of a Map miss) and
//     "threadflight (unnamed) + native table" (an unnamed miss plus them: the least a named miss
//     can cost while it crosses into the native table twice and keeps an unnamed instance's
//     bookkeeping in JavaScript).
const fs = require('node:fs');
const path = require('node:path');
const { Singleflight } = require('..');
const { machine: machineRecord, MapSingleflight, ROOT, checkout, describeCheckout, baselineDir } = require('./common');

const BASELINE = ' — baseline';
// The performance goals, as the most a contender may cost relative to the plain Map.
const GOALS = {
  miss: { threadflight: 1.1, 'threadflight (named)': 1.5 },
  hit: { threadflight: 1.1, 'threadflight (named)': 1.2 },
};
// A baseline contender's name from the current one's.
const BASELINE_OF = {
  threadflight: `threadflight (unnamed)${BASELINE}`,
  'threadflight (named)': `threadflight (named)${BASELINE}`,
};
// The --floors contenders (misses only): what each adds a named table's two native calls to.
const FLOORS = {
  'plain Map + native table': 'plain Map',
  'threadflight (unnamed) + native table': 'threadflight',
};

function options() {
  const args = process.argv.slice(2);
  const valued = new Set(['--json', '--baseline', '--only']);
  const out = { rounds: 21, json: undefined, baseline: undefined, only: undefined, floors: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (valued.has(arg)) {
      const value = args[++i];
      if (value === undefined || (value === '' && arg !== '--baseline')) throw new Error(`${arg} needs a value`);
      out[arg.slice(2)] = value;
    } else if (arg === '--floors') {
      out.floors = true;
    } else if (/^\d+$/.test(arg)) {
      out.rounds = Number(arg);
    } else {
      throw new Error(
        `unknown argument "${arg}"; usage: node bench/overhead.js [rounds] [--json out.json] [--baseline <dir>] [--only <regex>] [--floors]`,
      );
    }
  }
  if (out.only !== undefined) out.only = new RegExp(out.only);
  out.baseline = baselineDir(out.baseline);
  return out;
}

/** The other checkout's threadflight: a second copy of the library and of its addon. */
function loadBaseline(dir) {
  const baseline = require(dir);
  if (baseline.Singleflight === Singleflight) throw new Error(`baseline ${dir} resolved to this checkout's copy`);
  return baseline;
}

/** The named table's native part alone: per call, a join and a settle of a fresh flight on a
 * process-wide table, through Node-API, as a named miss makes them (the key is the caller's). */
function nativeTableCalls() {
  const { binding } = require('../dist/binding');
  const { UNLIMITED_SUBSCRIBERS } = require('../dist/options');
  const table = binding.openTable('bench-overhead-floor', UNLIMITED_SUBSCRIBERS, 30_000);
  return (key) => {
    table.join(key);
    table.settle(); // the flight join() left in this thread's flight slots
  };
}

async function contenders(baselineDir, floors) {
  const { coalesceAsync } = require('promise-coalesce');
  const { LRUCache } = require('lru-cache');
  const { Singleflight: ZcongSingleflight } = require('@zcong/singleflight');
  const { default: pMemoize } = await import('p-memoize');

  const unnamed = new Singleflight();
  const named = new Singleflight({ name: 'bench-overhead' });
  const lru = new LRUCache({ max: 1000, fetchMethod: (_key, _stale, { context }) => context() });
  const memoized = pMemoize((_key, work) => work(), { cache: false, cacheKey: ([key]) => key });
  const zcong = new ZcongSingleflight();
  const map = new MapSingleflight();

  const all = {
    'plain Map': (key, work) => map.execute(key, work),
    threadflight: (key, work) => unnamed.execute(key, work),
    'threadflight (named)': (key, work) => named.execute(key, work),
  };
  if (baselineDir !== undefined) {
    // Two copies of the addon in one process: the baseline's named table gets its own name, so
    // the two never meet in a table even if the copies came to share a registry.
    const { Singleflight: BaselineSingleflight } = loadBaseline(baselineDir);
    const baseUnnamed = new BaselineSingleflight();
    const baseNamed = new BaselineSingleflight({ name: 'bench-overhead-baseline' });
    all[BASELINE_OF.threadflight] = (key, work) => baseUnnamed.execute(key, work);
    all[BASELINE_OF['threadflight (named)']] = (key, work) => baseNamed.execute(key, work);
  }
  if (floors) {
    const crossTwice = nativeTableCalls();
    const floorMap = new MapSingleflight();
    const floorUnnamed = new Singleflight();
    all['plain Map + native table'] = (key, work) => {
      crossTwice(key);
      return floorMap.execute(key, work);
    };
    all['threadflight (unnamed) + native table'] = (key, work) => {
      crossTwice(key);
      return floorUnnamed.execute(key, work);
    };
  }
  return {
    ...all,
    'promise-coalesce': (key, work) => coalesceAsync(key, work),
    'p-memoize (cache: false)': (key, work) => memoized(key, work),
    'lru-cache fetch()': (key, work) => lru.fetch(key, { context: work }),
    '@zcong/singleflight': (key, work) => zcong.do(key, work),
  };
}

const work = () => Promise.resolve(1);
let nextKey = 0;

async function missRound(execute, calls) {
  for (let i = 0; i < calls; i++) await execute(`user:${nextKey++}`, work);
}

async function hitRound(execute, calls) {
  const pending = new Array(100);
  for (let i = 0; i < calls; i += 100) {
    const key = `user:${nextKey++}`;
    for (let j = 0; j < 100; j++) pending[j] = execute(key, work);
    await Promise.all(pending);
  }
}

async function nsPerCall(round, execute, calls) {
  const start = process.hrtime.bigint();
  await round(execute, calls);
  return Number(process.hrtime.bigint() - start) / calls;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Installed versions of the npm peers (the README names them). */
function versions(packages) {
  const read = (name) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return null;
    }
  };
  return Object.fromEntries(packages.map((name) => [name, read(name)]));
}

/** The current contender a baseline contender compares with (undefined for the others). */
const currentOf = (name) => Object.entries(BASELINE_OF).find(([, base]) => base === name)?.[0];

/** The round's order: the given one, with each current/baseline pair swapped on odd rounds. */
function orderOf(names, round) {
  if (round % 2 === 0) return names;
  const order = [...names];
  for (const [current, baseline] of Object.entries(BASELINE_OF)) {
    const a = order.indexOf(current);
    const b = order.indexOf(baseline);
    if (a >= 0 && b >= 0) [order[a], order[b]] = [order[b], order[a]];
  }
  return order;
}

async function main() {
  const { rounds, json, baseline, only, floors } = options();
  const all = await contenders(baseline, floors);
  // Current and baseline side by side, so the pair swaps neighbours.
  const names = Object.keys(all)
    .filter(
      (name) =>
        name === 'plain Map' ||
        FLOORS[name] !== undefined ||
        only === undefined ||
        only.test(name) ||
        only.test(currentOf(name) ?? ''),
    )
    .sort((a, b) => rank(a) - rank(b));
  function rank(name) {
    const current = currentOf(name);
    return current === undefined ? Object.keys(all).indexOf(name) : Object.keys(all).indexOf(current) + 0.5;
  }
  const samples = { miss: {}, hit: {} };
  for (const name of names) {
    samples.miss[name] = [];
    samples.hit[name] = [];
  }
  for (let r = -2; r < rounds; r++) {
    // two warm-up rounds are discarded
    for (const name of orderOf(names, r + 2)) {
      const miss = await nsPerCall(missRound, all[name], 50_000);
      // A floor calls the native table once per call, not per flight: a hit tells nothing.
      const hit = FLOORS[name] === undefined ? await nsPerCall(hitRound, all[name], 200_000) : undefined;
      if (r >= 0) {
        samples.miss[name].push(miss);
        if (hit !== undefined) samples.hit[name].push(hit);
      }
    }
  }
  const rows = [];
  for (const kind of ['miss', 'hit']) {
    const base = median(samples[kind]['plain Map']);
    for (const name of names) {
      if (samples[kind][name].length === 0) continue; // a floor's hits
      const m = median(samples[kind][name]);
      const row = { path: kind, library: name, nsPerCall: Math.round(m), vsPlainMap: +(m / base).toFixed(2) };
      // The goal of a threadflight contender, the baseline's copy included.
      const goalOf = Object.entries(BASELINE_OF).find(([current, base]) => name === current || name === base)?.[0];
      if (goalOf !== undefined) {
        row.goal = GOALS[kind][goalOf];
        row.meetsGoal = m / base <= row.goal;
      }
      if (FLOORS[name] !== undefined) {
        // How much the two native calls add to what they were added to, in this run.
        row.adds = FLOORS[name];
        row.addedVsPlainMap = +((m - median(samples[kind][FLOORS[name]])) / base).toFixed(2);
      }
      const baseName = BASELINE_OF[name];
      if (samples[kind][baseName] !== undefined) {
        // Paired: each round's current over the same round's baseline (they ran side by side),
        // whose median varies less between runs than the ratio of the two medians.
        const perRound = samples[kind][name].map((x, i) => x / samples[kind][baseName][i]);
        row.vsBaseline = +median(perRound).toFixed(3);
        row.vsBaselineRounds = { min: +Math.min(...perRound).toFixed(3), max: +Math.max(...perRound).toFixed(3) };
        row.vsBaselineOfMedians = +(m / median(samples[kind][baseName])).toFixed(3);
      }
      rows.push(row);
    }
  }
  const extra = { rounds, libraries: versions(['promise-coalesce', 'p-memoize', 'lru-cache', '@zcong/singleflight']) };
  if (only !== undefined) extra.only = only.source;
  if (floors) extra.floors = FLOORS;
  if (baseline !== undefined) {
    extra.current = checkout(ROOT);
    extra.baseline = checkout(baseline);
  }
  const machine = machineRecord(extra);
  console.log(`${machine.cpu}, ${machine.cores} cores, node ${machine.node}, ${rounds} interleaved rounds (medians)`);
  if (baseline !== undefined) {
    console.log(`current: ${describeCheckout(extra.current)}\nbaseline: ${describeCheckout(extra.baseline)}`);
  }
  console.table(
    rows.map((r) => ({
      path: r.path,
      library: r.library,
      'ns/call': r.nsPerCall,
      'vs plain Map': r.vsPlainMap,
      goal: r.goal === undefined ? '' : `≤ ${r.goal.toFixed(2)} ${r.meetsGoal ? 'met' : 'MISSED'}`,
      ...(floors && { 'native calls add': r.addedVsPlainMap ?? '' }),
      ...(baseline !== undefined && {
        'vs baseline': r.vsBaseline ?? '',
        'per round': r.vsBaselineRounds ? `${r.vsBaselineRounds.min}–${r.vsBaselineRounds.max}` : '',
      }),
    })),
  );
  if (json) fs.writeFileSync(json, `${JSON.stringify({ machine, goals: GOALS, rows }, null, 2)}\n`);
}

main().catch((error) => {
  console.error(error.message);
  process.exitCode = 1;
});
