// Behaviour that can only be seen from a whole process: unhandled rejections, exiting, ESM.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const fixture = (name) => path.join(root, 'test', 'fixtures', name);
const node = (args, options = {}) =>
  execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 20_000, ...options });

test('shared rejections (errors, throws, timeouts, refusals, abandoned work) never surface as unhandledRejection', () => {
  const out = node(['--unhandled-rejections=strict', fixture('shared-rejections.js')]);
  expect(JSON.parse(out)).toEqual({ rejected: 12, inFlight: 0 });
});

test('a process exits by itself when its flights are done, despite a long maxDuration', () => {
  const out = node([fixture('exits-by-itself.js')], { timeout: 10_000 });
  expect(out).toBe('done,done,done');
});

test('the package works through require() and through ESM import', () => {
  const esm = `
    import { Singleflight, TooManySubscribersError, FlightTimeoutError, MAX_KEY_LENGTH } from 'threadflight';
    import cjs from 'threadflight';
    const sf = new Singleflight();
    const [a, b] = await Promise.all([sf.execute('k', async () => ({ n: 1 })), sf.execute('k', async () => ({ n: 2 }))]);
    console.log(JSON.stringify({ same: a === b, n: a.n, shared: cjs.Singleflight === Singleflight,
      errors: [typeof TooManySubscribersError, typeof FlightTimeoutError], max: MAX_KEY_LENGTH }));`;
  // Resolve 'threadflight' through the package's own "exports" (self-reference).
  const out = node(['--input-type=module', '-e', esm]);
  expect(JSON.parse(out)).toEqual({ same: true, n: 1, shared: true, errors: ['function', 'function'], max: 65536 });
  const cjs = node(['-e', "const { Singleflight } = require('threadflight'); console.log(typeof Singleflight)"]);
  expect(cjs.trim()).toBe('function');
});

test('a caller awaiting a stuck flight gets FlightTimeoutError even when nothing else keeps the process alive', () => {
  const out = node([fixture('stuck-flight.mjs')], { timeout: 10_000 });
  expect(out).toBe('ERR_FLIGHT_TIMEOUT 0');
});

test('flights started after the event loop once ran dry are still timed and aged', () => {
  const out = node([fixture('flights-after-before-exit.js')], { timeout: 10_000 });
  const [expiredAfter, untimedAge] = out.trim().split(' ').map(Number);
  expect(expiredAfter).toBeGreaterThanOrEqual(300 - 11); // never early (coarse clock allowance)
  expect(untimedAge).toBeGreaterThanOrEqual(400);
});
