// threadflight's TracingChannel as log lines: with pino, one line per call that says how it
// was answered — the instance, the caller's role (did it run the work or join a flight?), its
// thread and how long it waited — and a warning with the error when the work failed. Run it:
//   node examples/observability/pino.js
const diagnosticsChannel = require('node:diagnostics_channel');
const { performance } = require('node:perf_hooks');

/** Subscribes to threadflight:execute; returns the function that unsubscribes. */
function logFlights(logger) {
  const started = new WeakMap();
  const fields = (flight) => ({
    singleflight: flight.name,
    role: flight.role,
    thread: flight.thread,
    ms: +(performance.now() - started.get(flight)).toFixed(1),
    ...(flight.key === undefined ? {} : { key: flight.key }), // traceKeys: true only
  });
  const handlers = {
    start: (flight) => started.set(flight, performance.now()),
    end() {},
    asyncStart() {},
    asyncEnd(flight) {
      if (!('error' in flight)) logger.debug(fields(flight), 'threadflight call answered');
    },
    error: (flight) => logger.warn({ ...fields(flight), err: flight.error }, 'threadflight call failed'),
  };
  const channel = diagnosticsChannel.tracingChannel('threadflight:execute');
  channel.subscribe(handlers);
  return () => channel.unsubscribe(handlers);
}

module.exports = { logFlights };

async function demo() {
  const pino = require('pino');
  const { Singleflight } = require('threadflight');

  logFlights(pino({ level: 'debug', base: undefined, timestamp: false }));
  const users = new Singleflight({ name: 'users', traceKeys: true });
  const load = () => new Promise((resolve) => setTimeout(() => resolve({ id: 1 }), 20));
  await Promise.all([users.execute('user:1', load), users.execute('user:1', load)]);
  await users
    .execute('user:2', async () => {
      throw new Error('database is down');
    })
    .catch(() => {});
}

if (require.main === module) {
  demo().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
