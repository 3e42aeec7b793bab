// A named instance with maxDuration Infinity, not kept by the program, whose caller waits for a
// flight led by another thread. Nothing holds the thread's Coalescer / NativeTable / Flight
// (lib/expiry.ts:116 puts no flight in a slot for an infinite maxDuration; lib/bridge.ts:21,40
// holds table sides weakly; lib/singleflight.ts:27 holds the Coalescer weakly), so after a
// GC the worker's value is dropped by the bridge (side.deref() is undefined), the caller's
// promise never settles, and the bridge's waiting count never drops: the TSFN stays ref'd and
// the process never exits. Child process with --expose-gc and a hard timeout.
const { runFixture } = require('./helpers');

test('control: the instance kept, the waiting caller gets the worker value and the process exits', () => {
  const run = runFixture('gc-follower.js', ['keep'], { nodeArgs: ['--expose-gc'], timeout: 10_000 });
  expect(run.stdout).toContain('OUTCOME fulfilled:from-worker');
  expect(run.timedOut).toBe(false);
  expect(run.status).toBe(0);
});

test('instance not kept + GC: the waiting caller still gets the worker value and the process exits by itself', () => {
  const run = runFixture('gc-follower.js', [], { nodeArgs: ['--expose-gc'], timeout: 10_000 });
  // Observed: "OUTCOME HUNG" (the promise never settles) and the child is killed at the timeout.
  expect(run.stdout).toContain('OUTCOME fulfilled:from-worker');
  expect(run.timedOut).toBe(false);
  expect(run.status).toBe(0);
});
