// Defect 2 and its siblings, with the main thread leading: the work fails with a thrown value
// that is hostile to error packing (throwing getters, Proxies, a revoked Proxy) while a worker
// waits. Expected: no crash, the leader's callers get the very value, the worker's caller
// settles (an Error with what could be read, or its own work), the key is free in both
// threads, no unhandledRejection. Each run is a child process.
const { KINDS, SYNC_KINDS, mainLeads } = require('./hostile-errors.cases');

describe('main thread leads, a worker waits, the work rejects with a hostile value', () => {
  // Defect 2 (stack getter) and siblings: packing the rejection for the waiting worker must not throw.
  test.each(Object.keys(KINDS))('async rejection: %s', (kind) => mainLeads(kind, 'async'));
});

describe('main thread leads, a worker waits, the work throws a hostile value synchronously', () => {
  // Defect 2's synchronous path: execute() must not throw the packing error out at its caller.
  test.each(SYNC_KINDS)('sync throw: %s', (kind) => mainLeads(kind, 'sync'));
});
