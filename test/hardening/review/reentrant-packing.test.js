// NativeTable.finish (lib/native-table.ts:75-95: release at 76, skipped settle at 79, pack at 87): when another thread waits
// (waitedForElsewhere), the first settle() — which would make the flight unjoinable — is
// skipped, and wire.packValue() runs v8.serialize, which invokes the value's getters, while the
// flight is still joinable in the core and already gone from this thread's map (release()). A
// getter that calls execute() for the same key in the leader's own thread makes this thread a
// FOLLOWER of its own flight: that caller receives a structured CLONE through the bridge —
// neither "the very object" (callers in the thread that ran the work) nor a new execution.
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { Singleflight } = require('../../..');
const { settle } = require('./helpers');

test('a getter of the value calling execute() during settling gets the very object or a new execution, never a clone', async () => {
  const name = `reentrant-pack-${process.pid}`;
  const sf = new Singleflight({ name, maxDuration: 5000 });
  let release;
  let reentrant;
  const value = {
    a: 1,
    get b() {
      reentrant ??= sf.execute('k', () => 'new-execution');
      return 2;
    },
  };
  const first = sf.execute('k', () => new Promise((resolve) => (release = resolve)));
  const worker = new Worker(path.join(__dirname, 'fixtures', 'join-worker.js'), { workerData: { name } });
  try {
    const messages = [];
    const got = new Promise((resolve) => worker.on('message', (m) => (messages.push(m), m.got && resolve(m))));
    for (let i = 0; i < 200 && !messages.includes('joined'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(sf.getStats().totalSubscribers).toBe(2); // the worker waits for this thread's flight
    release(value);
    expect(await settle(first, 2000)).toEqual({ status: 'fulfilled', value });
    expect((await settle(got, 2000)).value).toEqual({ got: { a: 1, b: 2 } });
    expect(reentrant).toBeDefined();
    const outcome = await settle(reentrant, 2000);
    expect(outcome.status).toBe('fulfilled');
    // Observed: a clone { a: 1, b: 2 } delivered through the bridge.
    expect(outcome.value === value || outcome.value === 'new-execution').toBe(true);
  } finally {
    await worker.terminate();
  }
});
