// Defect 9: exiting. In a plain child process (no test runner), a stuck flight (work never
// settles, maxDuration 50, nothing else holding the loop) must reject with FlightTimeoutError,
// and the user's process.on('beforeExit') must NOT fire while the flight still has callers
// (only after). A process whose flights are all done exits at once. And under `node --test`
// the awaiting test must pass rather than be cancelled (Node 20 and 22 cancel a test when
// 'beforeExit' fires; .ci/run runs this suite on each supported Node). Every process runs
// under spawnSync with a timeout.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { ROOT, FIXTURES, runScenario, cleanResult } = require('./helpers');

const nodes = [[`node ${process.version}`, process.execPath]];

const variants = [];
for (const kind of ['unnamed', 'named']) {
  for (const order of ['listener-after-load', 'listener-before-load']) variants.push([kind, order]);
}

// Defect 9: 'beforeExit' fires (twice, today) while the stuck flight still has its caller.
test.each(variants)('stuck %s flight, %s: FlightTimeoutError first, beforeExit only after', (kind, order) => {
  const child = spawnSync(process.execPath, [path.join(FIXTURES, 'exit-stuck-flight.js'), kind, order], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 10_000,
    killSignal: 'SIGKILL',
  });
  const line = child.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  expect({ status: child.status, signal: child.signal, stderr: child.stderr }).toEqual({
    status: 0,
    signal: null,
    stderr: '',
  });
  const { events, code } = JSON.parse(line.slice('RESULT '.length)).result;
  expect(code).toBe(0);
  const names = events.map((e) => e.event);
  expect(names[0]).toBe('rejected:ERR_FLIGHT_TIMEOUT');
  expect(events[0].atMs).toBeGreaterThanOrEqual(40); // maxDuration 50, less the clock's coarseness
  expect(names).toContain('beforeExit');
  expect(names[names.length - 1]).toBe('exit');
});

// Defect 9 in a worker thread (sibling): the worker's 'beforeExit' fires (several times,
// today) while its stuck flight still has its caller.
test.each(['unnamed', 'named'])(
  'stuck %s flight in a worker: FlightTimeoutError first, beforeExit only after',
  (kind) => {
    const result = cleanResult(runScenario('exit-stuck-flight-worker.js', kind, { timeout: 10_000 }));
    expect(result.workerExitCode).toBe(0);
    const names = result.events.map((e) => e.event);
    expect(names[0]).toBe('rejected:ERR_FLIGHT_TIMEOUT');
    expect(names).toContain('beforeExit');
  },
);

// Defect 9 guard (passes today): a process whose flights are all done exits at once, well
// under a second, despite the default maxDuration of 30 s.
test.each(['unnamed', 'named'])('a process whose %s flights are done exits at once', (kind) => {
  const run = runScenario('exit-done.js', kind, { timeout: 10_000 });
  const result = cleanResult(run);
  expect(result).toMatchObject({ code: 0, settled: 4, beforeExit: 1 });
  expect(result.exitedAfterMs).toBeLessThan(500);
  expect(run.elapsedMs).toBeLessThan(3000);
});

// Defect 9 under node:test: both tests were cancelled ("Promise resolution is still pending
// but the event loop has already resolved") on Node 20 and 22. The TAP reporter is asked for
// by name: Node 23 and later print the spec reporter's summary by default.
describe.each(nodes)('node:test fixture with %s', (_label, node) => {
  test.each([
    ['node --test', ['--test', '--test-reporter=tap']],
    ['node (plain)', ['--test-reporter=tap']],
  ])('%s: the awaiting tests pass, none cancelled', (_how, args) => {
    const child = spawnSync(node, [...args, path.join(FIXTURES, 'node-test-stuck-flight.js')], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 15_000,
      killSignal: 'SIGKILL',
    });
    const summary = (child.stdout.match(/^# (tests|pass|fail|cancelled) \d+$/gm) ?? []).join(', ');
    expect({ status: child.status, signal: child.signal, summary }).toEqual({
      status: 0,
      signal: null,
      summary: '# tests 2, # pass 2, # fail 0, # cancelled 0',
    });
  });
});
