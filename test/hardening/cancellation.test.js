// Defect 3: a caller passes { signal } and the signal is aborted synchronously inside the work
// that caller starts (before the work returns a pending promise). Expected: that caller is
// rejected with signal.reason at once; being the only caller, the work's own AbortSignal is
// aborted (an AbortError) and the key is free at once, so the next caller starts afresh.
// Each run is a child process (fixtures/cancellation.js).
const { runScenario, cleanResult } = require('./helpers');

const variants = [];
for (const named of ['unnamed', 'named']) {
  for (const method of ['execute', 'do']) {
    for (const returns of ['pending', 'never-aborts']) variants.push(`abort-inside-work-${named}-${method}-${returns}`);
  }
}

// Defect 3, for execute() and do(), unnamed and named, work that honours its signal or not.
test.each(variants)('%s: caller rejected with signal.reason, work aborted, key free', (scenario) => {
  const result = cleanResult(runScenario('cancellation.js', scenario));
  expect(result.outcome.status).toBe('rejected');
  expect(result.rejectedWithSignalReason).toBe(true);
  expect(result.settledAfterMs).toBeLessThan(500);
  expect(result.workSignalAborted).toBe(true);
  expect(result.workSignalAbortedAtOnce).toBe(true);
  expect(result.workSignalReason).toBe('AbortError');
  expect(result.view).toEqual({ isInFlight: false, inFlightCount: 0 });
  expect(result.next).toEqual({ status: 'fulfilled', value: 'fresh' });
  expect(result.ranFresh).toBe(true);
});
