// npm run demo
//  1. five concurrent requests for one user in one thread: the lookup runs once;
//  2. the same across four worker_threads: still once in the whole process.
const { Worker, isMainThread, parentPort, workerData, threadId } = require('node:worker_threads');
const { Singleflight } = require('..');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function oneThread() {
  console.log('1) 5 concurrent requests for key user:123 in one thread\n');
  const sf = new Singleflight({ maxDuration: 5000 });
  let lookups = 0;
  const loadUser = (requestNo) =>
    sf.execute('user:123', async () => {
      lookups += 1;
      console.log(`  request ${requestNo}: runs the expensive lookup (e.g. a database query)`);
      await sleep(300);
      return { id: 123, name: 'Ada Lovelace', loadedBy: `request ${requestNo}` };
    });

  const pending = [1, 2, 3, 4, 5].map((n) => {
    console.log(`  request ${n}: asks for user:123`);
    return loadUser(n);
  });
  console.log(`\n  while in flight: ${JSON.stringify(sf.getStats())}`);
  const results = await Promise.all(pending);
  results.forEach((user, i) => console.log(`  request ${i + 1} got ${JSON.stringify(user)}`));
  const identical = results.every((user) => user === results[0]);
  console.log(`\n  expensive lookups run: ${lookups} (for ${results.length} requests)`);
  console.log(`  all results identical (same object): ${identical}`);
  console.log(`  after settling: ${JSON.stringify(sf.getStats())}\n`);
  return lookups === 1 && identical;
}

async function acrossWorkers() {
  console.log('2) 4 worker_threads x 5 concurrent requests each, one named Singleflight\n');
  const executions = new Int32Array(new SharedArrayBuffer(4));
  const sf = new Singleflight({ name: 'users' }); // same name => one table for the process
  const workers = [1, 2, 3, 4].map((n) => new Worker(__filename, { workerData: { n, executions: executions.buffer } }));
  const done = Promise.all(
    workers.map(
      (w) =>
        new Promise((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
        }),
    ),
  );
  // Watch the process-wide table from the main thread while the workers wait.
  let peak = sf.getStats();
  const watch = setInterval(() => {
    const now = sf.getStats();
    if (now.totalSubscribers > peak.totalSubscribers) peak = now;
  }, 5);
  const reports = await done;
  clearInterval(watch);
  console.log(`  seen from the main thread while in flight: ${JSON.stringify(peak)}\n`);
  for (const r of reports) console.log(`  worker ${r.n}: 5 requests -> ${JSON.stringify(r.user)}`);
  const count = Atomics.load(executions, 0);
  const sameValue = reports.every((r) => JSON.stringify(r.user) === JSON.stringify(reports[0].user));
  console.log(`  expensive lookups run in the whole process: ${count} (for 20 requests in 4 threads)`);
  console.log(`  every worker got the same user: ${sameValue}`);
  return count === 1 && sameValue;
}

async function worker() {
  const executions = new Int32Array(workerData.executions);
  const sf = new Singleflight({ name: 'users' });
  const load = () =>
    sf.execute('user:123', async () => {
      Atomics.add(executions, 0, 1);
      await sleep(500); // long enough for every worker to start and join
      return { id: 123, name: 'Ada Lovelace', loadedInThread: threadId };
    });
  const users = await Promise.all([1, 2, 3, 4, 5].map(load));
  parentPort.postMessage({ n: workerData.n, user: users[0] });
}

if (isMainThread) {
  (async () => {
    const ok = (await oneThread()) && (await acrossWorkers());
    if (!ok) process.exitCode = 1;
  })();
} else {
  worker();
}
