// Instructions per call, counted by valgrind's callgrind (which repeats exactly, however busy
// the machine is), for this checkout, the plain Map + promise singleflight the goals are set
// against (misses and hits), and, with --baseline, another checkout: sequential misses, hits
// (100 callers per flight), and flights that cross to another environment (a second copy of
// the package loaded over a fresh addon instance, so every outcome travels through the bridge,
// as between threads). Each figure is the difference between a long and a short run of the
// same scenario, so start-up cancels out; the short run is long enough for V8 to have compiled
// the hot code with its optimizing tier, so compilation does too. With --variants, this
// checkout also runs each scenario with timings on (the histograms) and with a subscriber on
// the threadflight:execute tracing channel, each against its plain run. With --mixed, it runs
// each miss and hit scenario in a process that used the other kind of instance first (named
// for an unnamed scenario, and the reverse), against its plain run: V8 then compiles the
// shared code for both kinds of table, as in an application that uses both.
//   node bench/instructions.js [--baseline <checkout>] [--variants] [--mixed] [--node <binary>] [--json out.json]
//   --node: the Node.js binary the scenarios run on (default: the one running this script).
// Needs valgrind (apt-get install valgrind). Takes a few minutes.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const { machine, baselineDir, checkout, ROOT, MapSingleflight, PREDICTABLE_V8 } = require('./common');

const nodeAt = process.argv.indexOf('--node');
const NODE = nodeAt > 0 ? process.argv[nodeAt + 1] : process.execPath;

const SCENARIOS = {
  'unnamed miss': { kind: 'miss', named: false, short: 40_000, long: 140_000, callsPerUnit: 1 },
  'named miss': { kind: 'miss', named: true, short: 40_000, long: 140_000, callsPerUnit: 1 },
  'unnamed hit': { kind: 'hit', named: false, short: 2500, long: 7500, callsPerUnit: 100 },
  'named hit': { kind: 'hit', named: true, short: 2500, long: 7500, callsPerUnit: 100 },
  'cross-environment flight': { kind: 'cross', named: true, short: 5000, long: 20_000, callsPerUnit: 1 },
};
/** Stands for the plain Map + promise singleflight in place of a checkout. */
const PLAIN_MAP = 'plain-map';

/** How this checkout's instances run: as they are, timed, or traced by a subscriber. */
const VARIANTS = {
  plain: {},
  timings: { timings: true },
  subscribed: {},
  mixed: {},
};

/** Misses and hits on an instance of the other kind than the scenario's, through scenario()
 * itself (the same loops and work): the same in the short and the long run, so only what they
 * leave behind (V8's feedback and compiled code, now for both kinds of table) shows in the
 * figure. scenario()'s own code stays as it is: on Node 22 a change to it moves the plain
 * figures (V8 compiles the measured loop, and inlines the library into it, differently). */
async function useOtherKind(lib, named) {
  await scenario(lib, 'miss', !named, 30_000, 'plain');
  await scenario(lib, 'hit', !named, 2000, 'plain');
}

/** The scenario itself, run under callgrind in a child process. */
async function scenario(lib, kind, named, units, variant) {
  // The plain Map's process loads this checkout too, unused: V8 starts its first full garbage
  // collection at a heap size, so a process that loaded less code reached it later, and a run
  // could count that collection on one side only (a few hundred instructions per call).
  if (lib === PLAIN_MAP) require(ROOT);
  const { Singleflight } = lib === PLAIN_MAP ? { Singleflight: MapSingleflight } : require(lib);
  const work = () => Promise.resolve(1);
  const options = { ...(named ? { name: 'instructions' } : {}), ...VARIANTS[variant] };
  if (variant === 'subscribed') {
    const noop = () => {};
    require('node:diagnostics_channel')
      .tracingChannel('threadflight:execute')
      .subscribe({ start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop });
  }
  if (kind === 'miss') {
    const sf = new Singleflight(options);
    for (let i = 0; i < units; i++) await sf.execute(`user:${i}`, work);
  } else if (kind === 'hit') {
    const sf = new Singleflight(options);
    const pending = new Array(100);
    for (let i = 0; i < units; i++) {
      for (let j = 0; j < 100; j++) pending[j] = sf.execute(`user:${i}`, work);
      await Promise.all(pending);
    }
  } else {
    for (const key of Object.keys(require.cache)) delete require.cache[key];
    const other = require(lib);
    const leader = new Singleflight(options);
    const follower = new other.Singleflight(options);
    for (let i = 0; i < units; i++) {
      let release;
      const gate = new Promise((resolve) => (release = resolve));
      const led = leader.execute(`user:${i}`, () => gate);
      const followed = follower.execute(`user:${i}`, () => {
        throw new Error('the follower ran its own work');
      });
      release({ id: i, name: 'Ada', roles: ['admin', 'dev'] });
      await led;
      await followed;
    }
  }
}

function instructions(lib, name, units, variant) {
  const { kind, named } = SCENARIOS[name];
  const run = spawnSync(
    'valgrind',
    [
      '--tool=callgrind',
      '--callgrind-out-file=/dev/null',
      NODE,
      ...PREDICTABLE_V8,
      __filename,
      '--scenario',
      lib,
      kind,
      String(named),
      String(units),
      variant,
    ],
    { encoding: 'utf8', timeout: 600_000 },
  );
  const collected = /Collected : (\d+)/.exec(run.stderr);
  if (run.status !== 0 || collected === null) throw new Error(`callgrind failed: ${run.stderr.slice(-2000)}`);
  return Number(collected[1]);
}

function perCall(lib, name, variant = 'plain') {
  const { short, long, callsPerUnit } = SCENARIOS[name];
  const count = (units) => instructions(lib, name, units, variant);
  return Math.round((count(long) - count(short)) / ((long - short) * callsPerUnit));
}

async function main() {
  const at = process.argv.indexOf('--scenario');
  if (at > 0) {
    const [lib, kind, named, units, variant] = process.argv.slice(at + 1);
    if (variant === 'mixed') await useOtherKind(lib, named === 'true');
    await scenario(lib, kind, named === 'true', Number(units), variant);
    return;
  }
  const baselineAt = process.argv.indexOf('--baseline');
  const base = baselineDir(baselineAt > 0 ? process.argv[baselineAt + 1] : undefined);
  const rows = [];
  const plainMap = {};
  for (const name of Object.keys(SCENARIOS)) {
    const current = perCall(ROOT, name);
    const row = { scenario: name, instructionsPerCall: current };
    const { kind } = SCENARIOS[name];
    if (kind !== 'cross') {
      plainMap[kind] ??= perCall(PLAIN_MAP, name); // the same for named and unnamed
      row.plainMap = plainMap[kind];
      row.vsPlainMap = +(current / row.plainMap).toFixed(3);
    }
    if (base !== undefined) {
      row.baseline = perCall(base, name);
      row.vsBaseline = +(current / row.baseline).toFixed(3);
    }
    if (process.argv.includes('--mixed') && kind !== 'cross') {
      row.inMixedProcess = perCall(ROOT, name, 'mixed');
      row.mixedVsPlain = +(row.inMixedProcess / current).toFixed(3);
    }
    if (process.argv.includes('--variants')) {
      row.withTimings = perCall(ROOT, name, 'timings');
      row.timingsVsPlain = +(row.withTimings / current).toFixed(3);
      row.withSubscriber = perCall(ROOT, name, 'subscribed');
      row.subscriberVsPlain = +(row.withSubscriber / current).toFixed(3);
    }
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  const record = machine({
    tool: 'valgrind --tool=callgrind',
    scenarioNode: spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim(),
    current: checkout(ROOT),
    baseline: base && checkout(base),
  });
  console.table(rows);
  const jsonAt = process.argv.indexOf('--json');
  if (jsonAt > 0) fs.writeFileSync(process.argv[jsonAt + 1], `${JSON.stringify({ machine: record, rows }, null, 2)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
