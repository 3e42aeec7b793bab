// Siblings of defect 3 (cancellation) with hostile AbortSignals: a real AbortSignal whose
// addEventListener or removeEventListener is overridden to throw, or whose `reason` getter
// throws when it aborts. The README promises every promise settles and the library's own
// promises never produce an unhandledRejection. Child processes (fixtures/signals.js).
const { runScenario, cleanResult } = require('./helpers');

const FREE = { isInFlight: false, inFlightCount: 0 };

// Sibling: today execute() rejects with the addEventListener error while the flight (its
// only caller gone) keeps running, and the work's later rejection is an unhandledRejection.
test('a signal whose addEventListener throws: the call fails, the work failing later is not an unhandledRejection', () => {
  const result = cleanResult(runScenario('signals.js', 'addEventListener-throws'));
  expect(['rejected', 'threw-synchronously']).toContain(result.outcome.status);
  expect(result.view).toEqual(FREE);
});

// Sibling: today the caller never settles (the flight's value is lost when removing the
// listener throws) and the error is an unhandledRejection.
test('a signal whose removeEventListener throws: the caller still settles, no unhandledRejection', () => {
  const result = cleanResult(runScenario('signals.js', 'removeEventListener-throws'));
  expect(['fulfilled', 'rejected']).toContain(result.outcome.status);
  if (result.outcome.status === 'fulfilled') expect(result.outcome.value).toBe(1);
  expect(result.view).toEqual(FREE);
});

// Sibling: today the getter's error escapes the abort listener (an uncaught exception: the
// process dies), the caller never settles, the work is not aborted and the key stays taken.
test('a signal whose reason getter throws on abort: the caller is rejected, the work aborted, the key free', () => {
  const result = cleanResult(runScenario('signals.js', 'reason-getter-throws'));
  expect(result.outcome.status).toBe('rejected');
  expect(result.workAborted).toBe(true);
  expect(result.view).toEqual(FREE);
});
