// Review of timings: turning them on must not change what callers observe — which rejections
// are unhandled, and in which microtask a caller's answer arrives.
const { execFileSync } = require('node:child_process');
const { Singleflight } = require('../..');

let unique = 0;
const uniqueName = (label) => `timings-review-${label}-${process.pid}-${unique++}`;

const runScript = (timings) =>
  execFileSync(
    process.execPath,
    [
      '-e',
      `const { Singleflight } = require(${JSON.stringify(require.resolve('../..'))});
       process.on('unhandledRejection', (reason) => { console.log('unhandled:' + reason.message); });
       const sf = new Singleflight({ timings: ${timings} });
       const awaited = sf.execute('k', async () => { throw new Error('boom'); });
       sf.execute('k', () => 'prefetch'); // a second caller of the same flight, fire and forget
       awaited.catch(() => console.log('handled'));
       setTimeout(() => {}, 20);`,
    ],
    { encoding: 'utf8' },
  );

test('a rejection one caller of the flight handles is not made unhandled by timings', () => {
  const untimed = runScript(false);
  expect(untimed).toBe('handled\n');
  expect(runScript(true)).toBe(untimed);
});

/** The microtask (counted from the work's settling) in which each caller is answered. */
async function answerTicks(sf, call) {
  let open;
  const gate = new Promise((resolve) => (open = resolve));
  const ticks = [];
  let tick = 0;
  const calls = call(sf, () => gate);
  calls.forEach((promise, i) =>
    promise.then(
      () => (ticks[i] = tick),
      () => (ticks[i] = tick),
    ),
  );
  open('v');
  await gate;
  // Count microtasks from here until every caller is answered.
  for (let i = 0; i < 20; i++) {
    tick++;
    await null;
  }
  return ticks;
}

describe.each([
  ['unnamed', () => undefined],
  ['named', (label) => uniqueName(label)],
])('%s: answers arrive in the same microtask, timed or not', (_, nameFor) => {
  const calls = {
    execute: (sf, work) => [sf.execute('k', work), sf.execute('k', work)],
    'execute with a signal': (sf, work) => {
      const { signal } = new AbortController();
      return [sf.execute('k', work, { signal }), sf.execute('k', work, { signal })];
    },
    do: (sf, work) => [sf.do('k', work), sf.do('k', work, { signal: new AbortController().signal })],
  };
  test.each(Object.keys(calls))('%s', async (kind) => {
    const untimed = await answerTicks(new Singleflight({ name: nameFor('untimed') }), calls[kind]);
    const timedSf = new Singleflight({ name: nameFor('timed'), timings: true });
    const timed = await answerTicks(timedSf, calls[kind]);
    expect(timed).toEqual(untimed);
    expect(timedSf.getStats().waitTime.count).toBe(2);
  });
});

test('the execute() callers of one flight share its promise, timed or not', () => {
  for (const timings of [false, true]) {
    const sf = new Singleflight({ timings });
    const work = () => new Promise((resolve) => setTimeout(resolve, 5));
    expect(sf.execute('k', work)).toBe(sf.execute('k', work));
  }
});

test.each([false, true])('timings %s: a caller that calls again once answered starts a new flight', async (timings) => {
  const sf = new Singleflight({ name: uniqueName('again'), timings });
  let runs = 0;
  const work = () => Promise.resolve(++runs);
  const again = await sf.execute('k', work).then(() => sf.execute('k', work));
  const againDo = await sf.do('k', work).then(() => sf.do('k', work, { signal: new AbortController().signal }));
  expect([again, againDo.value, runs]).toEqual([2, 4, 4]);
});
