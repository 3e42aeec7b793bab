// Coalescer.runHere (lib/coalescer.ts:253-261, addStarting at 259): when the leader's outcome cannot reach this
// thread (uncloneable value, unreadable payload, abandoned flight), the flight goes Solo and is
// re-added with deadlines.addStarting(), which stamps it with NOW: its callers, who have been
// waiting since the flight's start, get a fresh maxDuration. The flight should still expire at
// START + maxDuration (as after a hand-over); here it expires at ~700 + 1000 ms.
const { runFixture } = require('./helpers');

test('after a fallback to its own work, a waiting thread still times out at start + maxDuration', () => {
  const run = runFixture('solo-deadline.js', [], { timeout: 10_000 });
  const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  expect(line).toBeDefined();
  const result = JSON.parse(line.slice(7));
  expect(result.ranOwnWork).toBe(true);
  expect(result.outcome).toMatchObject({ status: 'rejected', code: 'ERR_FLIGHT_TIMEOUT' });
  expect(result.outcome.afterStartMs).toBeGreaterThanOrEqual(990);
  expect(result.outcome.afterStartMs).toBeLessThan(1000 + 100 + 200); // observed: ~1700-1800
});
