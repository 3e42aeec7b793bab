// Review of timings with a coordinator: executionTime is the runs of work in this process —
// not the flights another process's work answered, nor the time spent coordinating.
const { Singleflight } = require('../..');

let unique = 0;
const uniqueName = () => `timings-distributed-${process.pid}-${unique++}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test('a flight answered by another process: a wait, no run', async () => {
  const elsewhere = { run: () => sleep(40).then(() => 'from another process') };
  let ran = 0;
  const sf = new Singleflight({ name: uniqueName(), distributed: elsewhere, timings: true });
  await expect(sf.execute('k', () => ++ran)).resolves.toBe('from another process');
  expect(ran).toBe(0);
  expect(sf.getStats()).toMatchObject({ servedByOtherProcess: 1, executionTime: { count: 0 }, waitTime: { count: 1 } });
});

test('a run here is timed from its start, not from the flight start (coordinating first)', async () => {
  const slowToDecide = { run: ({ work, signal }) => sleep(60).then(() => work(signal)) };
  const sf = new Singleflight({ name: uniqueName(), distributed: slowToDecide, timings: true });
  await expect(sf.execute('k', () => sleep(5).then(() => 'v'))).resolves.toBe('v');
  const { executionTime, waitTime } = sf.getStats();
  expect(executionTime.count).toBe(1);
  expect(executionTime.sum).toBeLessThan(0.05);
  expect(waitTime.sum).toBeGreaterThanOrEqual(0.055);
});

test('a run here that throws, synchronously or not, is timed', async () => {
  const local = { run: ({ work, signal }) => Promise.resolve().then(() => work(signal)) };
  const sf = new Singleflight({ name: uniqueName(), distributed: local, timings: true });
  await expect(
    sf.execute('a', () => {
      throw new Error('sync');
    }),
  ).rejects.toThrow('sync');
  await expect(sf.execute('b', () => Promise.reject(new Error('async')))).rejects.toThrow('async');
  expect(sf.getStats()).toMatchObject({ executionTime: { count: 2 }, waitTime: { count: 2 } });
});
