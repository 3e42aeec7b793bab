// npm run demo: five concurrent requests for one user; the expensive lookup runs once.
const { Singleflight } = require('..');

const sf = new Singleflight({ maxDuration: 5000 });
let lookups = 0;

async function loadUser(id, requestNo) {
  return sf.execute(`user:${id}`, async () => {
    lookups += 1;
    console.log(`  request ${requestNo}: runs the expensive lookup (e.g. a database query)`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { id, name: 'Ada Lovelace', loadedBy: `request ${requestNo}`, at: new Date().toISOString() };
  });
}

async function main() {
  console.log('5 concurrent requests for key user:123\n');
  const pending = [1, 2, 3, 4, 5].map((n) => {
    console.log(`  request ${n}: asks for user:123`);
    return loadUser(123, n);
  });

  const stats = sf.getStats();
  console.log(`\nwhile in flight: ${JSON.stringify(stats)}`);

  const results = await Promise.all(pending);
  console.log('\nresults:');
  results.forEach((user, i) => console.log(`  request ${i + 1}: ${JSON.stringify(user)}`));

  const identical = results.every((user) => user === results[0]);
  console.log(`\nexpensive lookups run: ${lookups} (for ${results.length} requests)`);
  console.log(`all results identical (same object): ${identical}`);
  console.log(`after settling: ${JSON.stringify(sf.getStats())}`);
  if (lookups !== 1 || !identical) process.exitCode = 1;
}

main();
