// FlightCache's hit against the caches users would otherwise reach for, in one process with
// interleaved rounds (medians): a synchronous hit against lru-cache's get(); an awaited
// getOrSet() hit against bentocache's getOrSet() (memory driver); and a named cache's first hit
// in another thread (decoding the stored copy) against a plain v8.deserialize of the same value.
//
//   npm run bench:cache        (installs bench/cache's dependencies, then saves bench/results/cache.json)
//   node bench/cache.js [--rounds 15] [--json FILE]
const path = require('node:path');
const fs = require('node:fs');
const v8 = require('node:v8');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');
const { FlightCache } = require('..');

const VENDOR = path.join(__dirname, 'cache', 'node_modules');
const KEYS = 1000;

/** A row as a service caches it. */
function row(i) {
  return {
    id: i,
    email: `user${i}@example.com`,
    name: `User number ${i}`,
    roles: ['reader', i % 7 === 0 ? 'admin' : 'member'],
    createdAt: new Date(1_700_000_000_000 + i * 1000).toISOString(),
    settings: { theme: 'dark', locale: 'en-GB', notifications: { email: true, push: false } },
  };
}
/** A larger value: a page of rows. */
const page = (i) => Array.from({ length: 50 }, (_, j) => row(i * 50 + j));

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
const summary = (values) => ({
  medianNs: +median(values).toFixed(2),
  minNs: +Math.min(...values).toFixed(2),
  maxNs: +Math.max(...values).toFixed(2),
});

// Each case gets its own copy of the timing loop (its own compiled code, its own inline caches),
// so that no case pays for the others' call sites being polymorphic.
const SYNC_LOOP = `
  const start = process.hrtime.bigint();
  let found = 0;
  for (let i = 0; i < ops; i++) if (op(i % keys) !== undefined) found++;
  const ns = Number(process.hrtime.bigint() - start) / ops;
  if (found !== ops) throw new Error('a hit missed: ' + found + '/' + ops);
  return ns;`;
const ASYNC_LOOP = `
  const start = process.hrtime.bigint();
  let found = 0;
  for (let i = 0; i < ops; i++) if ((await op(i % keys)) !== undefined) found++;
  const ns = Number(process.hrtime.bigint() - start) / ops;
  if (found !== ops) throw new Error('a hit missed: ' + found + '/' + ops);
  return ns;`;
const AsyncFunction = (async () => {}).constructor;

function timer(op, isAsync) {
  const loop = isAsync
    ? new AsyncFunction('op', 'ops', 'keys', ASYNC_LOOP)
    : new Function('op', 'ops', 'keys', SYNC_LOOP);
  return (ops) => loop(op, ops, KEYS);
}

// --- the worker's part: first hits in another thread ---------------------------------------
async function decodeInWorker({ name, keys, warmup }) {
  const cache = new FlightCache({ name, ttl: '1h', maxEntries: 1_000_000 });
  // Every path compiled and warm before any is timed: first hits, later hits, plain decoding.
  for (const set of warmup) {
    for (const key of set) cache.get(key);
    for (const key of set) cache.get(key);
    for (const key of set) v8.deserialize(v8.serialize(cache.get(key)));
  }
  // First access per key: the native store's bytes copied out and decoded.
  let start = process.hrtime.bigint();
  for (const key of keys) if (cache.get(key) === undefined) throw new Error(`missing ${key}`);
  const decodeNs = Number(process.hrtime.bigint() - start) / keys.length;
  // Second access: this thread's copy.
  start = process.hrtime.bigint();
  for (const key of keys) cache.get(key);
  const copyHitNs = Number(process.hrtime.bigint() - start) / keys.length;
  // The same values' bytes, decoded by hand.
  const bytes = keys.map((key) => v8.serialize(cache.get(key)));
  start = process.hrtime.bigint();
  for (const b of bytes) v8.deserialize(b);
  const deserializeNs = Number(process.hrtime.bigint() - start) / bytes.length;
  return { decodeNs, copyHitNs, deserializeNs };
}

if (!isMainThread) {
  decodeInWorker(workerData).then((result) => parentPort.postMessage(result));
  return;
}

function runWorker(data) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(__filename, { workerData: data });
    worker.once('message', (result) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

// --- the main thread -------------------------------------------------------------------------
async function main() {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : fallback;
  };
  const rounds = Number(option('--rounds', 15));
  const json = option('--json');
  if (!fs.existsSync(path.join(VENDOR, 'bentocache'))) {
    throw new Error('bench/cache has no node_modules: run npm run bench:cache (it installs them)');
  }
  const { LRUCache } = require(path.join(VENDOR, 'lru-cache'));
  const { BentoCache, bentostore } = await import(path.join(VENDOR, 'bentocache', 'build', 'index.js'));
  const { memoryDriver } = await import(path.join(VENDOR, 'bentocache', 'build', 'src', 'drivers', 'memory.js'));

  const keys = Array.from({ length: KEYS }, (_, i) => `user:${i}`);
  const lru = new LRUCache({ max: 10_000, ttl: 3_600_000 });
  const unnamed = new FlightCache({ ttl: '1h' });
  const named = new FlightCache({ name: 'bench-hits', ttl: '1h' });
  const bento = new BentoCache({
    default: 'memory',
    stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000 })) },
  });
  for (let i = 0; i < KEYS; i++) {
    const value = row(i);
    lru.set(keys[i], value);
    unnamed.set(keys[i], value);
    named.set(keys[i], value);
    await bento.set({ key: keys[i], value, ttl: '1h' });
  }
  const fill = () => {
    throw new Error('a hit ran its factory');
  };

  const sync = {
    'lru-cache get()': (i) => lru.get(keys[i]),
    'FlightCache get(), unnamed': (i) => unnamed.get(keys[i]),
    'FlightCache get(), named': (i) => named.get(keys[i]),
  };
  const async = {
    'lru-cache get(), awaited': async (i) => lru.get(keys[i]),
    'FlightCache getOrSet(), unnamed': (i) => unnamed.getOrSet(keys[i], fill),
    'FlightCache getOrSet(), named': (i) => named.getOrSet(keys[i], fill),
    "FlightCache remember(key, '1h', factory), named": (i) => named.remember(keys[i], '1h', fill),
    'bentocache getOrSet(), memory driver': (i) => bento.getOrSet({ key: keys[i], factory: fill, ttl: '1h' }),
  };
  const samples = Object.fromEntries([...Object.keys(sync), ...Object.keys(async)].map((name) => [name, []]));
  const timers = Object.fromEntries([
    ...Object.entries(sync).map(([name, op]) => [name, timer(op, false)]),
    ...Object.entries(async).map(([name, op]) => [name, timer(op, true)]),
  ]);
  const decode = { small: [], page: [] };

  // Warm-up, then interleaved rounds (each round runs every case, in a rotating order).
  for (const name of Object.keys(sync)) timers[name](200_000);
  for (const name of Object.keys(async)) await timers[name](20_000);
  for (let round = 0; round < rounds; round++) {
    const syncNames = Object.keys(sync);
    for (let j = 0; j < syncNames.length; j++) {
      const name = syncNames[(round + j) % syncNames.length];
      samples[name].push(timers[name](500_000));
    }
    const asyncNames = Object.keys(async);
    for (let j = 0; j < asyncNames.length; j++) {
      const name = asyncNames[(round + j) % asyncNames.length];
      samples[name].push(await timers[name](50_000));
    }
    for (const [kind, make] of [
      ['small', row],
      ['page', page],
    ]) {
      const name = `bench-decode-${kind}`;
      const store = new FlightCache({ name, ttl: '1h', maxEntries: 1_000_000 });
      const count = kind === 'small' ? 5000 : 500;
      const roundKeys = Array.from({ length: count }, (_, i) => `r${round}:${i}`);
      const warmup = [0, 1, 2].map((set) => Array.from({ length: count }, (_, i) => `w${round}:${set}:${i}`));
      [...roundKeys, ...warmup.flat()].forEach((key, i) => store.set(key, make(i % count)));
      decode[kind].push(await runWorker({ name, keys: roundKeys, warmup }));
      store.clear();
    }
    process.stdout.write(`round ${round + 1}/${rounds}\r`);
  }

  const cases = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, summary(values)]));
  const ratio = (a, b) => +(cases[a].medianNs / cases[b].medianNs).toFixed(2);
  const decodeSummary = (kind) => {
    const rows = decode[kind];
    const decodeNs = median(rows.map((r) => r.decodeNs));
    const deserializeNs = median(rows.map((r) => r.deserializeNs));
    return {
      valueBytes: v8.serialize(kind === 'small' ? row(1) : page(1)).length,
      firstHitNs: +decodeNs.toFixed(1),
      plainDeserializeNs: +deserializeNs.toFixed(1),
      ratio: +(decodeNs / deserializeNs).toFixed(2),
      laterHitNs: +median(rows.map((r) => r.copyHitNs)).toFixed(1),
    };
  };
  const result = {
    machine: require('./common').machine({ rounds }),
    method:
      'One process; every round runs each case in a rotating order (500k synchronous or 50k awaited hits over ' +
      `${KEYS} keys, each a row of ~${v8.serialize(row(1)).length} bytes); medians over the rounds. Decoding: a worker ` +
      "reads each of a round's keys, stored by the main thread, for the first time (the native store's bytes copied " +
      'and decoded), then decodes the same values with v8.deserialize.',
    cases,
    ratios: {
      namedGetVsLruGet: ratio('FlightCache get(), named', 'lru-cache get()'),
      unnamedGetVsLruGet: ratio('FlightCache get(), unnamed', 'lru-cache get()'),
      namedGetOrSetVsBentocache: ratio('FlightCache getOrSet(), named', 'bentocache getOrSet(), memory driver'),
      unnamedGetOrSetVsBentocache: ratio('FlightCache getOrSet(), unnamed', 'bentocache getOrSet(), memory driver'),
      namedGetOrSetVsAwaitedLruGet: ratio('FlightCache getOrSet(), named', 'lru-cache get(), awaited'),
    },
    crossThreadFirstHit: { small: decodeSummary('small'), page: decodeSummary('page') },
  };
  console.log(JSON.stringify(result, null, 2));
  if (json) fs.writeFileSync(json, `${JSON.stringify(result, null, 2)}\n`);
  await bento.disconnect?.();
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
