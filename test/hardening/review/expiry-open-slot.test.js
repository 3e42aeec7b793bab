// Expiry when the event loop was blocked past a flight's deadline (here a 500 ms synchronous
// stretch, maxDuration 400). A named flight's start is stamped by the table: it expires as soon
// as the loop is free. An unnamed instance's flights wait in an "open" slot until its timer
// fires, which closes it then: they expire maxDuration after the stretch at the latest.
const { Singleflight } = require('../../..');
const { settle } = require('./helpers');

const MAX_DURATION = 400;
const PERIOD = MAX_DURATION / 10;
const BLOCK = 500;
const SLACK = 100;

function blockFor(ms) {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

async function timeToExpiry(options) {
  const sf = new Singleflight({ maxDuration: MAX_DURATION, ...options });
  const started = performance.now();
  const call = sf.execute('k', () => new Promise(() => {}));
  const rejectedAt = call.then(
    () => NaN,
    (error) => (error.code === 'ERR_FLIGHT_TIMEOUT' ? performance.now() - started : NaN),
  );
  blockFor(BLOCK); // the event loop cannot run timers meanwhile
  const outcome = await settle(rejectedAt, 5000);
  return outcome.value;
}

test('control (named): a flight whose deadline passed while the loop was blocked expires as soon as the loop is free', async () => {
  const at = await timeToExpiry({ name: `open-slot-${process.pid}` });
  expect(at).toBeGreaterThanOrEqual(MAX_DURATION - 10);
  expect(at).toBeLessThan(BLOCK + PERIOD + SLACK);
});

// An unnamed instance does not read the clock per flight, so it cannot tell when, within a
// stretch that blocked its event loop, a flight started: it expires such a flight at most a
// period late after the stretch, counted from the stretch's end (documented), never early.
test('unnamed: the same flight expires never early, and late by no more than the blocked stretch and a period', async () => {
  const at = await timeToExpiry({});
  expect(at).toBeGreaterThanOrEqual(MAX_DURATION - 10);
  expect(at).toBeLessThan(BLOCK + MAX_DURATION + PERIOD + SLACK);
});
