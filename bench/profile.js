// Where a miss spends its time: runs 2M sequential misses (a fresh key per flight, one caller)
// under V8's sampling profiler and prints the functions with the most self time.
// Usage: node bench/profile.js [unnamed|named|map ...] [--json out.json]
//   Several kinds profile one after the other (default: unnamed). --json saves, with the
//   machine record, each kind's ns per miss and the self time of every function at 0.1% or
//   more, so shares that add up several functions can be checked against the file.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { machine } = require('./common');

const CALLS = 2_000_000;
const KINDS = ['unnamed', 'named', 'map'];

if (process.argv[2] === '--child') {
  child(process.argv[3]);
} else {
  main(process.argv.slice(2));
}

function main(args) {
  const jsonAt = args.indexOf('--json');
  const json = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
  if (jsonAt >= 0 && !json) throw new Error('--json needs a file');
  const kinds = args.filter((a, i) => !(jsonAt >= 0 && (i === jsonAt || i === jsonAt + 1)));
  if (kinds.length === 0) kinds.push('unnamed');
  const profiles = [];
  for (const kind of kinds) {
    const profile = parent(kind);
    if (profile === undefined) return;
    profiles.push(profile);
  }
  if (json) {
    const saved = { machine: machine({ calls: CALLS, sampler: 'node --cpu-prof (V8 sampling profiler)' }), profiles };
    fs.writeFileSync(json, `${JSON.stringify(saved, null, 2)}\n`);
  }
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

/** Profiles one kind in a child process, prints its top functions and returns what it saw. */
function parent(kind) {
  if (!KINDS.includes(kind)) throw new RangeError(`unknown kind "${kind}": unnamed, named or map`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'threadflight-profile-'));
  try {
    const run = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, __filename, '--child', kind], {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
    });
    process.stdout.write(run.stdout ?? '');
    if (run.status !== 0) {
      process.exitCode = run.status ?? 1;
      return undefined;
    }
    const nsPerMiss = Number(/: (\d+) ns per miss/.exec(run.stdout)?.[1]);
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    const functions = selfTime(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
    console.table(functions.slice(0, 12));
    return { kind, nsPerMissProfiled: nsPerMiss, functions: functions.filter((f) => f['self %'] >= 0.1) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Self time per function (name, file:line), as a share of all samples, largest first. */
function selfTime(profile) {
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
  return [...byFunction.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([fn, us]) => ({ function: fn, 'self %': +((100 * us) / total).toFixed(1) }));
}
