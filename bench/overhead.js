// Per-call overhead of threadflight against a plain Map + Promise singleflight and npm peers,
// in one process, with interleaved rounds and medians so machine noise hits all alike.
//   miss: one caller per flight (every call starts and settles a flight)
//   hit:  100 callers per flight (99 of them join)
// Every flight uses a fresh key, so libraries that also cache (lru-cache) never serve a hit
// from their cache. Usage: node bench/overhead.js [rounds] [--json results.json]
const fs = require('node:fs');
const { Singleflight } = require('..');
const { machine: machineRecord, MapSingleflight } = require('./common');


async function contenders() {
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

  return {
    'plain Map': (key, work) => map.execute(key, work),
    threadflight: (key, work) => unnamed.execute(key, work),
    'threadflight (named)': (key, work) => named.execute(key, work),
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

async function main() {
  const args = process.argv.slice(2);
  const rounds = Number(args.find((a) => /^\d+$/.test(a)) ?? 21);
  const jsonAt = args.indexOf('--json');
  const all = await contenders();
  const names = Object.keys(all);
  const samples = { miss: {}, hit: {} };
  for (const name of names) {
    samples.miss[name] = [];
    samples.hit[name] = [];
  }
  for (let r = -2; r < rounds; r++) { // two warm-up rounds are discarded
    for (const name of names) {
      const miss = await nsPerCall(missRound, all[name], 50_000);
      const hit = await nsPerCall(hitRound, all[name], 200_000);
      if (r >= 0) {
        samples.miss[name].push(miss);
        samples.hit[name].push(hit);
      }
    }
  }
  const rows = [];
  for (const kind of ['miss', 'hit']) {
    const base = median(samples[kind]['plain Map']);
    for (const name of names) {
      const m = median(samples[kind][name]);
      rows.push({ path: kind, library: name, nsPerCall: Math.round(m), vsPlainMap: +(m / base).toFixed(2) });
    }
  }
  const machine = machineRecord({ rounds });
  console.log(`${machine.cpu}, ${machine.cores} cores, node ${machine.node}, ${rounds} interleaved rounds (medians)`);
  console.table(rows.map((r) => ({ path: r.path, library: r.library, 'ns/call': r.nsPerCall, 'vs plain Map': r.vsPlainMap })));
  if (jsonAt >= 0) fs.writeFileSync(args[jsonAt + 1], `${JSON.stringify({ machine, rows }, null, 2)}\n`);
}

main();
