// The cost of maxDuration under a steady stream of stuck flights: named flights whose work
// never settles arrive at a fixed rate and expire maxDuration later, so in the steady state
// `rate × maxDuration` flights are in the air and `rate` expire per second. The CPU the
// process spends in that state, minus what the same arrivals cost with maxDuration Infinity
// (nothing expires), is what expiry costs. It should follow the flights that expire, not the
// flights in the air. Each configuration runs in its own child process.
//   node bench/expiry.js [--rate 10000] [--duration 3000] [--window 3000]
//                        [--baseline <checkout>] [--json out.json]
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const { machine, baselineDir, checkout, ROOT } = require('./common');

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

const rate = option('rate', 10_000);
const durationMs = option('duration', 3000);
const windowMs = option('window', 3000);

/** In the child: starts flights at `rate`, and reports the CPU used in the steady window. */
function child(libDir, maxDuration) {
  const { Singleflight } = require(libDir);
  const sf = new Singleflight({ name: 'bench-expiry', maxDuration });
  const never = () => new Promise(() => {});
  let next = 0;
  let expired = 0;
  const start = performance.now();
  const steadyAt = (maxDuration === Infinity ? durationMs : maxDuration) + 1000;
  let cpuAtSteady;
  const tick = setInterval(() => {
    const elapsed = performance.now() - start;
    const due = Math.floor((elapsed / 1000) * rate);
    while (next < due) sf.execute(`stuck:${next++}`, never).catch(() => expired++);
    if (cpuAtSteady === undefined && elapsed >= steadyAt) {
      cpuAtSteady = { cpu: process.cpuUsage(), at: elapsed, expired, inFlight: sf.getInFlightCount() };
    }
    if (cpuAtSteady !== undefined && elapsed >= steadyAt + windowMs) {
      clearInterval(tick);
      const used = process.cpuUsage(cpuAtSteady.cpu);
      const wallMs = elapsed - cpuAtSteady.at;
      process.stdout.write(
        `${JSON.stringify({
          cpuShare: (used.user + used.system) / 1000 / wallMs,
          inFlight: cpuAtSteady.inFlight,
          expiredPerSecond: ((expired - cpuAtSteady.expired) / wallMs) * 1000,
        })}\n`,
      );
      process.exit(0);
    }
  }, 5);
}

function run(libDir, maxDuration) {
  const result = spawnSync(
    process.execPath,
    [__filename, '--child', libDir, String(maxDuration), '--rate', String(rate), '--duration', String(durationMs)],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (result.status !== 0) throw new Error(`child failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

function main() {
  const childAt = process.argv.indexOf('--child');
  if (childAt > 0) {
    const maxDuration = Number(process.argv[childAt + 2]);
    child(process.argv[childAt + 1], maxDuration);
    return;
  }
  const at = process.argv.indexOf('--baseline');
  const base = baselineDir(at > 0 ? process.argv[at + 1] : undefined);
  const libraries = [['threadflight', ROOT]];
  if (base !== undefined) libraries.push(['threadflight — baseline', base]);
  const rows = [];
  for (const [library, dir] of libraries) {
    const control = run(dir, Infinity);
    const expiring = run(dir, durationMs);
    rows.push({
      library,
      inFlight: expiring.inFlight,
      expiredPerSecond: Math.round(expiring.expiredPerSecond),
      cpuShareExpiring: +expiring.cpuShare.toFixed(3),
      cpuShareNoExpiry: +control.cpuShare.toFixed(3),
      expiryCpuShare: +(expiring.cpuShare - control.cpuShare).toFixed(3),
    });
  }
  const record = machine({ rate, durationMs, windowMs, current: checkout(ROOT), baseline: base && checkout(base) });
  console.log(
    `${record.cpu}, node ${record.node}: ${rate} stuck named flights/s, maxDuration ${durationMs} ms, ` +
      `CPU measured over ${windowMs} ms of steady state`,
  );
  console.table(rows);
  const jsonAt = process.argv.indexOf('--json');
  if (jsonAt > 0) fs.writeFileSync(process.argv[jsonAt + 1], `${JSON.stringify({ machine: record, rows }, null, 2)}\n`);
}

main();
