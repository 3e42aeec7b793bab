// Memory under churn: distinct keys streaming through a bounded cache leave the heap where it
// was (the store evicts, and a thread's decoded copies of evicted entries are swept).
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const FIXTURE = path.join(__dirname, 'fixtures', 'churn.js');

test.each(['unnamed', 'named'])(
  '%s: 200 000 distinct keys through maxEntries 1000 leave the heap flat',
  (kind) => {
    const output = execFileSync(process.execPath, ['--expose-gc', FIXTURE, kind], { encoding: 'utf8' });
    const { entries, heap } = JSON.parse(output.trim().split('\n').pop());
    expect(entries).toBe(1000);
    const grown = heap[1] - heap[0];
    expect(grown).toBeLessThan(2 * 1024 * 1024);
  },
  60_000,
);
