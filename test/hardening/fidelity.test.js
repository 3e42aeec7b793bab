// Defect 8: fidelity across threads. An error's `cause` must arrive (an Error cause as an
// Error with its class name and message; a plain cause as a clone), an AggregateError's
// `errors` too; and do() must report `shared: false` to the leader when its value could not
// be cloned, so that only the leader's thread received it. Child processes
// (fixtures/fidelity.js), both directions (main thread leads / a worker leads).
const { runScenario, cleanResult } = require('./helpers');

const run = (scenario) => cleanResult(runScenario('fidelity.js', scenario));

describe.each(['worker-leads', 'main-leads'])('rejection crossing threads (%s)', (direction) => {
  // Defect 8: an Error cause is lost today.
  test('an Error `cause` arrives as an Error with its class name and message', () => {
    const result = run(`error-cause-${direction}`);
    expect(result.subscribers).toBe(2);
    expect(result.status).toBe('rejected');
    expect(result.received).toMatchObject({ isError: true, message: 'outer', hasCause: true });
    expect(result.received.cause).toMatchObject({ isError: true, name: 'RangeError', message: 'inner' });
  });

  // Defect 8: a plain-object cause is lost today.
  test('a plain-object `cause` arrives as a clone', () => {
    const result = run(`plain-cause-${direction}`);
    expect(result.received).toMatchObject({ message: 'outer', hasCause: true, cause: { code: 42, list: [1, 2] } });
  });

  // Defect 8: an AggregateError's `errors` are lost today.
  test('an AggregateError arrives with its `errors`', () => {
    const result = run(`aggregate-${direction}`);
    expect(result.received).toMatchObject({ isError: true, name: 'AggregateError', message: 'many' });
    expect(result.received.errors).toEqual([
      { isError: true, name: 'Error', message: 'first' },
      { isError: true, name: 'TypeError', message: 'second' },
    ]);
  });

  // Defect 8 (README: errors cross "as errors of the same built-in class"): AggregateError is a
  // built-in class. Today it arrives as a plain Error named 'AggregateError'.
  test('an AggregateError arrives as an AggregateError', () => {
    const result = run(`aggregate-${direction}`);
    expect(result.received.isAggregateError).toBe(true);
  });
});

// Sibling of defect 8: an Error class whose name is a key of Object.prototype. The receiving
// thread looks the class name up in a plain object of built-in errors: 'toString',
// 'hasOwnProperty' and '__proto__' find a non-constructor and the receiving thread dies
// ("Constructor is not a constructor"); 'constructor' finds Object and the caller receives a
// String object instead of an Error. Expected: an Error with the message (README: "other
// classes arrive as Error").
describe.each(['worker-leads', 'main-leads'])('an Error class named like an Object.prototype key (%s)', (direction) => {
  test.each(['toString', 'hasOwnProperty', 'constructor', '__proto__'])('class %s arrives as an Error', (className) => {
    const result = run(`class-named-${className}-${direction}`);
    expect(result.status).toBe('rejected');
    expect(result.received).toMatchObject({ isError: true, message: 'boom' });
  });
});

// Defect 8: the leader's value held a function, so the waiting worker ran its own work: the
// value reached one caller only, and do() must say shared: false. Today: true.
test('do(): shared is false for the only local caller when the value could not cross', () => {
  const result = run('do-uncloneable-1-local');
  expect(result.subscribers).toBe(2);
  expect(result.remote).toMatchObject({
    status: 'fulfilled',
    value: { value: { by: 'worker' }, shared: false },
    ranOwnWork: true,
  });
  expect(result.local).toEqual([{ shared: false, fn: 'function' }]);
});

// Guard (passes today): two callers in the leader's thread did share the value.
test('do(): shared is true for two local callers even when the value could not cross', () => {
  const result = run('do-uncloneable-2-local');
  expect(result.remote).toMatchObject({ status: 'fulfilled', ranOwnWork: true });
  expect(result.local).toEqual([
    { shared: true, fn: 'function' },
    { shared: true, fn: 'function' },
  ]);
});
