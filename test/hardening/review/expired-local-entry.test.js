// NativeTable.has (lib/native-table.ts:150-151) and Coalescer.admit (lib/coalescer.ts:106-116)
// trust this thread's map (Flight.joinable() reads only the unjoinable flag) for a flight that is
// past maxDuration but whose expiry slot has not fired yet (it may, by design, fire up to one
// period late). The core already treats the flight as gone (FlightTable::contains / size /
// stats / join leave out flights past max_duration), so in that window, in the thread that
// knows the flight: isInFlight(k) is true while getInFlightCount() and getStats() say 0, and a
// new caller joins the dead flight and is rejected with FlightTimeoutError — while a caller in
// any other thread, at the same instant, starts a fresh flight.
const { Singleflight } = require('../../..');
const { settle } = require('./helpers');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const coreMs = () => Number(process.hrtime.bigint() / 1_000_000n); // the same monotonic clock as the core

// Documented: a flight expires at most a period late, and until its slot fires a caller in its
// own thread may still join it (and times out with it); the queries agree with the table.
test('past maxDuration, before the expiry slot fires: isInFlight agrees with getInFlightCount, and a new caller is answered within the period', async () => {
  const sf = new Singleflight({ name: `expired-entry-${process.pid}`, maxDuration: 1000 }); // period 100 ms
  // Start ~25 ms into a 100 ms window, so the slot is due ~75 ms after the deadline.
  while (coreMs() % 100 < 20 || coreMs() % 100 > 30) await sleep(1);
  const started = performance.now();
  const old = sf.execute('k', () => new Promise(() => {}));
  old.catch(() => {});
  await sleep(1000 + 15 - (performance.now() - started)); // past the deadline, before the slot is due
  const view = {
    isInFlight: sf.isInFlight('k'),
    inFlightCount: sf.getInFlightCount(),
    stats: sf.getStats().inFlightCount,
  };
  const fresh = sf.execute('k', () => 'fresh');
  expect(view).toEqual({ isInFlight: false, inFlightCount: 0, stats: 0 });
  const outcome = await settle(fresh, 300); // the period, and slack for the timer
  const answer = outcome.status === 'fulfilled' ? outcome.value : outcome.reason?.code;
  expect(['fresh', 'ERR_FLIGHT_TIMEOUT']).toContain(answer);
  await expect(sf.execute('k', () => 'after')).resolves.toBe('after');
});
