// The costs that bound the per-call overhead, each measured alone in one process (medians of
// 7 rounds): what a Node-API call, a join + settle on the process-wide table, an atomic
// increment, an AbortSignal and a structured clone cost here. The README's profile of the named path cites
// these. Usage: node bench/primitives.js [--json out.json]
const fs = require('node:fs');
const v8 = require('node:v8');
// The addon itself: these are the costs under the library, measured without it.
const binding = require('../build/Release/threadflight.node');
const { machine } = require('./common');

const ROUNDS = 7;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function nsPerOp(loop, n) {
  loop(1000); // warm up
  const start = process.hrtime.bigint();
  loop(n);
  return Number(process.hrtime.bigint() - start) / n;
}

const table = binding.openTable('bench-primitives', 2 ** 31 - 1, 30_000);
const plain = new Int32Array(64);
const value = { id: 123, name: 'Ada', roles: ['admin', 'dev'], active: true };
let sink = 0;
let nextKey = 0;

const cases = {
  'Node-API call, empty (now())': [
    (n) => {
      for (let i = 0; i < n; i++) sink += binding.now();
    },
    2e6,
  ],
  'join + settle, fresh key (two calls)': [
    (n) => {
      for (let i = 0; i < n; i++) {
        const key = `user:${nextKey++}`;
        table.join(key);
        table.settle(); // the flight join() left in the flight slots
      }
    },
    5e5,
  ],
  'Int32Array element ++': [
    (n) => {
      for (let i = 0; i < n; i++) plain[8]++;
    },
    2e7,
  ],
  'Atomics.add on an Int32Array': [
    (n) => {
      for (let i = 0; i < n; i++) Atomics.add(plain, 8, 1);
    },
    2e7,
  ],
  'new AbortController().signal': [
    (n) => {
      for (let i = 0; i < n; i++) sink += new AbortController().signal.aborted ? 1 : 0;
    },
    2e5,
  ],
  'v8.serialize + deserialize, small object': [
    (n) => {
      for (let i = 0; i < n; i++) sink += v8.deserialize(v8.serialize(value)).id;
    },
    1e5,
  ],
};

const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, [loop, n]] of Object.entries(cases)) samples[name].push(nsPerOp(loop, n));
}
const rows = Object.entries(samples).map(([what, xs]) => ({ what, 'ns/op': +median(xs).toFixed(1) }));
console.table(rows);
const jsonAt = process.argv.indexOf('--json');
if (jsonAt > 0) {
  fs.writeFileSync(
    process.argv[jsonAt + 1],
    `${JSON.stringify({ machine: machine({ rounds: ROUNDS }), rows }, null, 2)}\n`,
  );
}
if (sink === 0.5) console.log(sink); // keep the loops' results alive
