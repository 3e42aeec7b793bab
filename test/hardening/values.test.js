// Siblings of defects 1 and 2 on the receiving side: a value (or thrown value) that
// v8.serialize accepts in the leader's thread but v8.deserialize rejects in the waiting thread
// (a WebAssembly.Module: "Unable to deserialize cloned data"; an object nested 5 000 deep,
// serialized in a worker's 4 MiB stack, too deep for the main thread's). Expected, as for an
// uncloneable value: no crash, the waiting callers settle well before maxDuration (their own
// work, or an Error), the key is free, no unhandledRejection. Today the deserialization error
// escapes the bridge (process crash) and the callers are stranded. Child processes
// (fixtures/values.js); a worker leads, the main thread waits with two callers.
const { runScenario, cleanResult } = require('./helpers');

function expectSettledAndFree(result) {
  expect(result.subscribers).toBe(3);
  for (const outcome of result.outcomes) {
    if (outcome.status === 'fulfilled') expect(outcome.by).toBe('main');
    else expect(outcome).toMatchObject({ status: 'rejected', isError: true });
    expect(outcome.code).not.toBe('ERR_FLIGHT_TIMEOUT');
  }
  expect(result.leader).toEqual({ status: expect.any(String), same: true });
  expect(result.view).toEqual({ isInFlight: false, inFlightCount: 0 });
  expect(result.viewAtEnd).toEqual({ isInFlight: false, inFlightCount: 0 });
}

// Sibling (deserialization failure in the receiving thread): value, thrown value, Error prop.
test.each(['wasm-value', 'wasm-thrown', 'wasm-error-prop', 'deep-value'])(
  '%s: the waiting thread cannot deserialize the outcome, and still settles without a crash',
  (kind) => {
    expectSettledAndFree(cleanResult(runScenario('values.js', `${kind}-worker-leads`)));
  },
);

// Guard (passes today): values v8.serialize rejects fall back to the waiting thread's own work.
test.each(['symbol-value', 'sab-value'])('%s: the waiting thread runs its own work', (kind) => {
  const result = cleanResult(runScenario('values.js', `${kind}-worker-leads`));
  expectSettledAndFree(result);
  expect(result.outcomes).toEqual([
    { status: 'fulfilled', by: 'main' },
    { status: 'fulfilled', by: 'main' },
  ]);
});
