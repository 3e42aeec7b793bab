// What the benchmark scripts share: the machine record saved with every result, the plain
// Map + promise singleflight they compare against, and settling the heap before a reading.
const os = require('node:os');

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

module.exports = { machine, MapSingleflight, settleGc };
