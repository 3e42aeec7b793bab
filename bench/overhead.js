// Per-call overhead of threadflight against a plain Map + Promise singleflight, measured in
// one process with interleaved rounds (medians), so machine noise hits both alike.
//   miss: one caller per flight (every call starts and settles a flight)
//   hit:  100 callers per flight (99 of them join)
// Usage: node bench/overhead.js [rounds]
const { Singleflight } = require('..');

/** The baseline: the usual JavaScript singleflight. */
class MapSingleflight {
  constructor() {
    this.flights = new Map();
  }
  execute(key, work) {
    const pending = this.flights.get(key);
    if (pending !== undefined) return pending;
    const promise = (async () => {
      try {
        return await work();
      } finally {
        this.flights.delete(key);
      }
    })();
    this.flights.set(key, promise);
    return promise;
  }
}

const work = () => Promise.resolve(1);
const keys = Array.from({ length: 1024 }, (_, i) => `user:${i}`);

async function missRound(sf, calls) {
  for (let i = 0; i < calls; i++) await sf.execute(keys[i & 1023], work);
}

async function hitRound(sf, calls) {
  const pending = new Array(100);
  for (let i = 0; i < calls; i += 100) {
    for (let j = 0; j < 100; j++) pending[j] = sf.execute(keys[i & 1023], work);
    await Promise.all(pending);
  }
}

async function nsPerCall(round, sf, calls) {
  const start = process.hrtime.bigint();
  await round(sf, calls);
  return Number(process.hrtime.bigint() - start) / calls;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const rounds = Number(process.argv[2] ?? 15);
  const contenders = { 'plain Map': new MapSingleflight(), threadflight: new Singleflight() };
  const samples = { miss: {}, hit: {} };
  for (const name of Object.keys(contenders)) {
    samples.miss[name] = [];
    samples.hit[name] = [];
  }
  for (let r = -2; r < rounds; r++) {  // two warm-up rounds are discarded
    for (const [name, sf] of Object.entries(contenders)) {
      const miss = await nsPerCall(missRound, sf, 100_000);
      const hit = await nsPerCall(hitRound, sf, 500_000);
      if (r >= 0) {
        samples.miss[name].push(miss);
        samples.hit[name].push(hit);
      }
    }
  }
  const result = {};
  for (const kind of ['miss', 'hit']) {
    const base = median(samples[kind]['plain Map']);
    for (const name of Object.keys(contenders)) {
      const m = median(samples[kind][name]);
      result[`${kind} ${name}`] = { 'ns/call (median)': Math.round(m), 'vs plain Map': +(m / base).toFixed(2) };
    }
  }
  console.log(`node ${process.version}, ${rounds} interleaved rounds`);
  console.table(result);
}

main();
