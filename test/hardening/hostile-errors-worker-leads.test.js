// Defect 2 and its siblings, vice versa: a worker leads and its work fails with a hostile
// thrown value while the main thread waits (two callers). Expected: no crash, the worker's
// callers get the very value, the main thread's callers settle well before maxDuration (an
// Error with what could be read, or their own work), the key is free in both threads, no
// unhandledRejection. Each run is a child process.
const { KINDS, SYNC_KINDS, workerLeads } = require('./hostile-errors.cases');

describe('a worker leads, the main thread waits, the work rejects with a hostile value', () => {
  // Defect 2 (stack getter) and siblings, led from a worker.
  test.each(Object.keys(KINDS))('async rejection: %s', (kind) => workerLeads(kind, 'async'));
});

describe('a worker leads, the main thread waits, the work throws a hostile value synchronously', () => {
  // Defect 2's synchronous path, led from a worker.
  test.each(SYNC_KINDS)('sync throw: %s', (kind) => workerLeads(kind, 'sync'));
});
