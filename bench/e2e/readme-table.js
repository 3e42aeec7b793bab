// Prints the README's table of an e2e result file (default: bench/results/e2e-middleware.json),
// so the README's figures are copied from the saved result, never typed.
//   node bench/e2e/readme-table.js [FILE]
const path = require('node:path');

const file = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'results', 'e2e-middleware.json'));
const { rows } = require(file);
const modes = {
  none: 'no coalescing',
  threadflight: 'Singleflight in the handler',
  middleware: '**`coalesce()` middleware**',
};
const scenarios = { hot: 'one hot id, 1 thread', 'hot-2w': 'one hot id, 2 worker threads' };
const fmt = (n) => Math.round(n).toLocaleString('en-US').replace(/,/g, ' ');
console.log('| scenario | mode | backend queries | requests per query | req/s | p50 | p99 |');
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
let last;
for (const r of rows) {
  const scenario = r.scenario === last ? '' : (scenarios[r.scenario] ?? r.scenario);
  last = r.scenario;
  console.log(
    `| ${scenario} | ${modes[r.mode] ?? r.mode} | ${fmt(r.backendQueries)} | ${r.requestsPerQuery} | ${fmt(r.reqPerSec)} | ${r.latencyP50Ms} ms | ${r.latencyP99Ms} ms |`,
  );
}
