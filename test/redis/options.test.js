// redisCoordinator's options and Singleflight's `distributed` option: bad input is a TypeError
// or RangeError naming the option; and an adapter whose commands fail or never answer makes
// the flight run in this process (fail open) without a hung or failed caller.
const Redis = require('ioredis').default;
const { Singleflight } = require('../..');
const { redisCoordinator } = require('../../dist/redis');

const lazyClient = () => new Redis({ lazyConnect: true, enableOfflineQueue: false });

describe('redisCoordinator options', () => {
  let client;
  beforeAll(() => {
    client = lazyClient();
  });
  afterAll(() => client.disconnect());

  test.each([
    [undefined, TypeError, /redisCoordinator options must be an object, received undefined/],
    [{}, TypeError, /option "client" must be an ioredis client/],
    [{ client: {} }, TypeError, /option "client" must be an ioredis client/],
    [{ client: null, cache: true }, TypeError, /Unknown redisCoordinator option "cache"/],
    [{ adapter: { runScript() {} } }, TypeError, /option "adapter" must be an object with runScript/],
  ])('%p is refused', (options, type, message) => {
    expect(() => redisCoordinator(options)).toThrow(type);
    expect(() => redisCoordinator(options)).toThrow(message);
  });

  test.each([
    [{ leaseMs: 0 }, RangeError, /"leaseMs" must be an integer from 10/],
    [{ leaseMs: '1000' }, TypeError, /"leaseMs" must be a number of milliseconds/],
    [{ leaseMs: 1000, resultTtlMs: 1500 }, RangeError, /"resultTtlMs" \(1500\) must be at least twice leaseMs/],
    [{ commandTimeoutMs: 1.5 }, RangeError, /"commandTimeoutMs" must be an integer/],
    [{ retryAfterMs: -1 }, RangeError, /"retryAfterMs" must be an integer from 0/],
    [{ maxRecordBytes: 2 ** 30 }, RangeError, /"maxRecordBytes" must be an integer from 1 to 536870912/],
    [{ codec: 'xml' }, TypeError, /"codec" must be 'structured', 'json' or an object/],
    [{ secret: '' }, TypeError, /"secret" must be a non-empty string or Buffer/],
    [{ prefix: '' }, TypeError, /"prefix" must be a string of 1 to 256/],
    [{ prefix: 'app{1}' }, TypeError, /"prefix" must not contain "\{" or "\}"/],
    [{ leaseMs: 2 ** 31 - 1 }, RangeError, /"leaseMs" must be an integer from 10 to 1073741824/],
    [
      { leaseMs: 500, commandTimeoutMs: 500 },
      RangeError,
      /"commandTimeoutMs" \(500\) must be less than leaseMs \(500\)/,
    ],
    [{ subscriber: {} }, TypeError, /"subscriber" must be an ioredis connection/],
  ])('%p is refused, naming the option', (options, type, message) => {
    expect(() => redisCoordinator({ client, ...options })).toThrow(type);
    expect(() => redisCoordinator({ client, ...options })).toThrow(message);
  });

  test('the client itself as the subscriber is refused', () => {
    expect(() => redisCoordinator({ client, subscriber: client })).toThrow(/must be another connection than "client"/);
  });

  test('adapter and client together are refused', () => {
    const adapter = { runScript() {}, subscribe() {}, unsubscribe() {}, onMessage() {} };
    expect(() => redisCoordinator({ client, adapter })).toThrow(/either "adapter" or "client"/);
  });
});

describe('Singleflight option distributed', () => {
  test('needs a name', () => {
    const coordinator = { run: () => Promise.resolve(1) };
    expect(() => new Singleflight({ distributed: coordinator })).toThrow(TypeError);
    expect(() => new Singleflight({ distributed: coordinator })).toThrow(/"distributed" needs a "name"/);
  });

  test('must be a coordinator', () => {
    expect(() => new Singleflight({ name: 'd', distributed: {} })).toThrow(/"distributed" must be a coordinator/);
  });
});

/** An adapter whose every command fails (or, with `hang`, never answers). */
function brokenAdapter({ hang = false } = {}) {
  const calls = { runScript: 0 };
  return {
    calls,
    adapter: {
      runScript() {
        calls.runScript += 1;
        return hang
          ? new Promise(() => {})
          : Promise.reject(new Error('READONLY You cannot write against a read only replica.'));
      },
      subscribe: () => Promise.resolve(),
      unsubscribe: () => Promise.resolve(),
      onMessage() {},
    },
  };
}

describe('when Redis cannot be used', () => {
  let emitWarning;
  beforeEach(() => {
    emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
  });
  afterEach(() => emitWarning.mockRestore());
  const warned = (code) => emitWarning.mock.calls.filter(([, options]) => options?.code === code);

  test.each([
    ['fail', {}],
    ['never answer', { hang: true }],
  ])(
    "commands that %s: every caller gets this process's own outcome, Redis is left alone for retryAfterMs",
    async (_, how) => {
      const { adapter, calls } = brokenAdapter(how);
      const coordinator = redisCoordinator({ adapter, commandTimeoutMs: 50, retryAfterMs: 60_000 });
      const sf = new Singleflight({ name: `broken-${how.hang ? 'hang' : 'fail'}`, distributed: coordinator });
      let runs = 0;
      const work = async () => ++runs;
      const first = await Promise.all([sf.execute('k', work), sf.execute('k', work)]);
      expect(first).toEqual([1, 1]);
      expect(await sf.execute('k', work)).toBe(2); // paused: no command sent
      expect(calls.runScript).toBe(1);
      expect(coordinator.stats()).toMatchObject({ redisErrors: 1, ranLocally: 2 });
      expect(warned('THREADFLIGHT_REDIS_UNAVAILABLE')).toHaveLength(1);
      await coordinator.close();
    },
  );
});

describe('closing', () => {
  test('a subscriber given by the caller keeps no listener of a closed coordinator', async () => {
    const client = lazyClient();
    const subscriber = lazyClient();
    for (let i = 0; i < 12; i += 1) await redisCoordinator({ client, subscriber }).close();
    expect(subscriber.listenerCount('messageBuffer')).toBe(0);
    client.disconnect();
    subscriber.disconnect();
  });

  test('close() returns within the command timeout when Redis cannot be reached', async () => {
    // A port nobody listens on: ioredis keeps reconnecting.
    const client = new Redis({ port: 1, lazyConnect: false, maxRetriesPerRequest: null });
    client.on('error', () => {});
    const coordinator = redisCoordinator({ client, commandTimeoutMs: 200, leaseMs: 1000 });
    const sf = new Singleflight({ name: 'close-unreachable', distributed: coordinator });
    expect(await sf.execute('k', async () => 'ran here')).toBe('ran here');
    const started = Date.now();
    await coordinator.close();
    expect(Date.now() - started).toBeLessThan(1000);
    client.disconnect();
  });
});
