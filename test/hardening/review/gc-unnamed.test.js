// lib/expiry.ts:33-35,46,237 + lib/local-table.ts:32 (a local Flight references the LocalTable only): an unnamed instance the program drops while its
// flight is stuck. The Slot holds its Deadlines weakly and the flights of a LocalTable hold
// nothing leading back to the Coalescer, so after a GC the slot fires with
// owner.deref() === undefined: the caller is never rejected (README: "if the event loop runs
// dry while a flight is still stuck, the timer holds it open until the deadline, so awaiting
// callers do get their FlightTimeoutError"), and the process exits at ~30 ms with the await
// unsettled. The flight is also never counted out of the scheduler (`live` stays 1), so the
// expiry timer stays ref'd for good: a later named flight with maxDuration 60 s, which ends at
// once, keeps the process alive until its (empty) slot is due, 60 s later.
const { runFixture } = require('./helpers');

test('control: the instance kept, the stuck flight times out at maxDuration and the process exits', () => {
  const run = runFixture('gc-unnamed.js', ['stuck', 'keep'], { nodeArgs: ['--expose-gc'], timeout: 10_000 });
  expect(run.stdout).toContain('OUTCOME rejected:ERR_FLIGHT_TIMEOUT');
  expect(run.status).toBe(0);
});

test('instance dropped + GC: the stuck flight still times out (the timer holds the process until then)', () => {
  const run = runFixture('gc-unnamed.js', ['stuck'], { nodeArgs: ['--expose-gc'], timeout: 10_000 });
  // Observed: "OUTCOME pending", the process exits ~30 ms after the call.
  expect(run.stdout).toContain('OUTCOME rejected:ERR_FLIGHT_TIMEOUT');
  expect(run.status).toBe(0);
});

test('control: the instance kept, a later flight that ends at once does not keep the process alive', () => {
  const run = runFixture('gc-unnamed.js', ['then-named', 'keep'], { nodeArgs: ['--expose-gc'], timeout: 8_000 });
  expect(run.stdout).toContain('DONE');
  expect(run.stdout).toContain('OUTCOME rejected:ERR_FLIGHT_TIMEOUT');
  expect(run.timedOut).toBe(false);
  expect(run.status).toBe(0);
});

test('instance dropped + GC: a later flight that ends at once does not keep the process alive', () => {
  const run = runFixture('gc-unnamed.js', ['then-named'], { nodeArgs: ['--expose-gc'], timeout: 8_000 });
  expect(run.stdout).toContain('DONE');
  // Observed: still running at the 8 s timeout (the expiry timer is ref'd until ~60 s).
  expect(run.timedOut).toBe(false);
  expect(run.status).toBe(0);
});
