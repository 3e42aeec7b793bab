// Small helpers shared by the unit tests.

/** A promise with its resolve/reject exposed, for work whose completion the test controls. */
function deferred() {
  let resolve, reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Lets pending promise callbacks run. */
const flushMicrotasks = () => new Promise((resolve) => setImmediate(resolve));

/** Records each call of `name` on the instance's table (native, or the JavaScript one of an
 * unnamed instance) while keeping its behaviour. */
function spyOnTable(sf, name) {
  const table = sf.group.table; // the ThreadGroup's table
  const original = table[name];
  const calls = [];
  // Native methods are read-only on the prototype, so define an own property instead.
  Object.defineProperty(table, name, {
    configurable: true,
    value: (...args) => {
      calls.push(args);
      return original.apply(table, args);
    },
  });
  return calls;
}

module.exports = { deferred, sleep, flushMicrotasks, spyOnTable };
