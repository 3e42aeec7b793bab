// Where a miss spends its time: runs 2M sequential misses (a fresh key per flight, one caller)
// under V8's sampling profiler and prints the functions with the most self time.
// Usage: node bench/profile.js [unnamed|named|map]
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const CALLS = 2_000_000;

if (process.argv[2] === '--child') {
  child(process.argv[3]);
} else {
  parent(process.argv[2] ?? 'unnamed');
}

function child(kind) {
  let execute;
  if (kind === 'map') {
    const { MapSingleflight } = require('./common');
    const map = new MapSingleflight();
    execute = (key, work) => map.execute(key, work);
  } else {
    const { Singleflight } = require('..');
    const sf = new Singleflight(kind === 'named' ? { name: 'bench-profile' } : {});
    execute = (key, work) => sf.execute(key, work);
  }
  const work = () => Promise.resolve(1);
  (async () => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) await execute(`user:${i}`, work);
    console.log(`${kind}: ${(Number(process.hrtime.bigint() - start) / CALLS).toFixed(0)} ns per miss (profiled)`);
  })();
}

function parent(kind) {
  if (!['unnamed', 'named', 'map'].includes(kind)) throw new RangeError(`unknown kind "${kind}": unnamed, named or map`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'threadflight-profile-'));
  try {
    const run = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, __filename, '--child', kind], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (run.status !== 0) {
      process.exitCode = run.status ?? 1;
      return;
    }
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    printSelfTime(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Self time per function (name, file:line), as a share of all samples. */
function printSelfTime(profile) {
  const micros = new Map();
  profile.samples.forEach((node, i) => micros.set(node, (micros.get(node) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFunction = new Map();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${path.basename(url)}:${lineNumber + 1}` : '';
    const name = `${functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + (micros.get(node.id) ?? 0));
  }
  const total = [...byFunction.values()].reduce((a, b) => a + b, 0);
  const rows = [...byFunction.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([fn, us]) => ({ function: fn, 'self %': +((100 * us) / total).toFixed(1) }));
  console.table(rows);
}
