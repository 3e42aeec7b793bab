// Small helpers shared by the unit tests.
const { loadAddon } = require('../../lib/locate-addon.cjs');

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

/**
 * Loads a fresh copy of the package whose native tables count the calls crossing into C++
 * (the addon itself is the real one, seen through a Proxy, like a spy on a module boundary).
 * Returns the package and the counts by function name.
 */
function loadCountingCrossings() {
  const addon = loadAddon().file; // the binary the package itself loads
  const crossings = {};
  const counted = (handle) =>
    new Proxy(handle, {
      get(target, name) {
        const value = Reflect.get(target, name);
        if (typeof value !== 'function') return value;
        return (...args) => {
          crossings[name] = (crossings[name] ?? 0) + 1;
          return value(...args);
        };
      },
    });
  let threadflight;
  jest.isolateModules(() => {
    jest.doMock(addon, () => {
      const real = jest.requireActual(addon);
      return new Proxy(real, {
        get: (target, name) =>
          name === 'openTable' ? (...args) => counted(target.openTable(...args)) : Reflect.get(target, name),
      });
    });
    threadflight = require('../..');
  });
  return { threadflight, crossings };
}

module.exports = { deferred, sleep, flushMicrotasks, loadCountingCrossings };
