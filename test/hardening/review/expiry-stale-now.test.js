// lib/expiry.ts:228-238 + 147-152: Scheduler.fire reads the clock ONCE and then fires every due
// slot with that `now`. Expiring one slot runs abort listeners (user code); if they take time
// and then start a flight of an unnamed instance whose open slot is also due in this sweep, the
// flight joins that open slot, which is then closed with the stale `now` and rescheduled at
// now + maxDuration — i.e. before the new flight's start + maxDuration. Here a listener that
// runs 200 ms before starting a flight makes that flight expire 800 ms after it started, with
// maxDuration 1000: "never early" is broken.
const { Singleflight } = require('../../..');
const { settle } = require('./helpers');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
function blockFor(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

test('a flight started by an abort listener during an expiry sweep never expires before start + maxDuration', async () => {
  const other = new Singleflight({ maxDuration: 200 }); // its flight's slot is due at ~220-225 ms
  const sf = new Singleflight({ maxDuration: 1000 }); // its open slot (opened at 150) is due at ~250 ms
  const t0 = performance.now();
  let started;
  let late;
  other
    .execute('y', (signal) => {
      signal.addEventListener('abort', () => {
        blockFor(200); // a slow listener (or many flights expiring in one sweep)
        started = performance.now();
        late = sf
          .execute('x', () => new Promise(() => {}))
          .then(
            () => ({ status: 'fulfilled' }),
            (error) => ({ code: error.code, afterStartMs: performance.now() - started }),
          );
      });
      return new Promise(() => {});
    })
    .catch(() => {});
  await sleep(150 - (performance.now() - t0));
  sf.execute('w', () => new Promise(() => {})).catch(() => {}); // opens sf's slot
  blockFor(300 - (performance.now() - t0)); // both slots are due when the timer next runs
  for (let i = 0; i < 100 && late === undefined; i++) await sleep(10);
  expect(late).toBeDefined();
  const outcome = await settle(late, 3000);
  expect(outcome.value.code).toBe('ERR_FLIGHT_TIMEOUT');
  expect(outcome.value.afterStartMs).toBeGreaterThanOrEqual(1000 - 10); // observed: ~800
});
