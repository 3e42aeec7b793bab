// What the benchmark scripts share: the machine record saved with every result, the plain
// Map + promise singleflight they compare against, settling the heap before a reading, and
// finding another checkout's build to compare against (--baseline).
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** Machine, Node version and date, plus whatever a script adds about its own run. */
function machine(extra = {}) {
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    ...extra,
  };
}

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

/**
 * Full GCs (node --expose-gc) until heapUsed drops by less than `quietBytes`: weak refs and
 * finalizers need more than one.
 */
async function settleGc(quietBytes) {
  let last = Infinity;
  for (let i = 0; i < 6; i++) {
    globalThis.gc();
    await new Promise((resolve) => setImmediate(resolve));
    const used = process.memoryUsage().heapUsed;
    if (used >= last - quietBytes) break;
    last = used;
  }
}

/** This checkout's root. */
const ROOT = path.resolve(__dirname, '..');

/** A checkout's commit and whether its tracked files differ from it (nulls outside git). */
function checkout(dir) {
  const git = (...args) =>
    execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    return {
      dir,
      commit: git('rev-parse', 'HEAD'),
      dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
    };
  } catch {
    return { dir, commit: null, dirty: null };
  }
}

const describeCheckout = (c) =>
  `${c.dir} @ ${c.commit?.slice(0, 12) ?? 'unknown commit'}${c.dirty ? ' (modified)' : ''}`;

/**
 * The directory of the built checkout to compare against (--baseline <dir>, else
 * THREADFLIGHT_BASELINE), absolute, or undefined when neither is given. Throws if it is not
 * built or is this checkout: require() would hand back the very same copy.
 */
function baselineDir(flagValue) {
  const given = flagValue ?? (process.env.THREADFLIGHT_BASELINE || undefined);
  if (given === undefined) return undefined;
  if (given === '') throw new Error('--baseline needs a directory (is THREADFLIGHT_BASELINE set?)');
  const dir = path.resolve(given);
  for (const built of ['dist/index.js', 'build/Release/threadflight.node']) {
    if (!fs.existsSync(path.join(dir, built))) {
      throw new Error(`baseline ${dir} has no ${built}: run "npm ci" (or "npm run build") there first`);
    }
  }
  if (fs.realpathSync(dir) === fs.realpathSync(ROOT)) {
    throw new Error(`baseline ${dir} is this checkout: point it at another one`);
  }
  return dir;
}

/** V8's predictable mode with fixed seeds: no concurrent compilation or GC, no random hash
 * seeds, so a callgrind count repeats to a fraction of an instruction per call and an inlining
 * trace comes one compile at a time. */
const PREDICTABLE_V8 = ['--single-threaded', '--predictable', '--hash-seed=1', '--random-seed=1'];

module.exports = { PREDICTABLE_V8, machine, MapSingleflight, settleGc, ROOT, checkout, describeCheckout, baselineDir };
