// FlightCache with the Redis tier, across real processes and a real redis-server: entries in
// Redis serve processes whose memory missed, fills are shared across processes, and deletions
// and clears reach every process's memory.
const Redis = require('ioredis').default;
const { startRedis, startCacheMember } = require('./helpers');

let redis;
let admin;
beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.port);
});
afterAll(async () => {
  admin.disconnect();
  await redis.stop();
});

let unique = 0;
const members = [];
afterEach(async () => {
  await Promise.all(members.splice(0).map((m) => m.close().catch(() => m.child.kill('SIGKILL'))));
});
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let prefix;
/** `count` processes sharing a new prefix (one cache), or the current one with `join`. */
async function group(count, config = {}, join = false) {
  if (!join) prefix = `tc${process.pid}-${(unique += 1)}`;
  const started = await Promise.all(
    Array.from({ length: count }, () => startCacheMember({ port: redis.port, prefix, name: 'users', ...config })),
  );
  members.push(...started);
  return started;
}
const factoryRuns = async (processes) =>
  (await Promise.all(processes.map((p) => p.call('stats')))).reduce((sum, r) => sum + r.value.factoryRuns, 0);

describe('FlightCache with the Redis tier', () => {
  test('3 processes: one fill, then every process reads the value from Redis without running its factory', async () => {
    const [a, b, c] = await group(3);
    const filled = await a.call('getOrSet', { key: 'user:1', factory: { value: { id: 1, name: 'Ada' } } });
    expect(filled.status).toEqual({ get: 'miss', fill: 'factory' });
    for (const p of [b, c]) {
      const reply = await p.call('getOrSet', { key: 'user:1', factory: { value: 'must not run' } });
      expect(reply.value).toEqual({ id: 1, name: 'Ada' });
      expect(reply.status).toEqual({ get: 'miss', fill: 'tier' });
      // Stored in that process's memory too: the next call is a hit.
      expect((await p.call('getOrSet', { key: 'user:1', factory: {} })).status).toEqual({ get: 'hit' });
    }
    expect(await factoryRuns([a, b, c])).toBe(1);
    expect((await b.call('stats')).value.cache.tierHits).toBe(1);
  });

  test("each process's Prometheus scrape counts its own cache requests: one factory run in the fleet, tier hits elsewhere", async () => {
    const [a, b, c] = await group(3);
    await a.call('getOrSet', { key: 'user:1', factory: { value: { id: 1 } } });
    await a.call('getOrSet', { key: 'user:1', factory: {} });
    for (const p of [b, c]) {
      for (let i = 0; i < 3; i++) await p.call('getOrSet', { key: 'user:1', factory: { value: 'must not run' } });
    }
    const scrape = async (p) => {
      const text = (await p.call('metrics')).value;
      const read = (line) => {
        const found = text.split('\n').find((l) => l.startsWith(line));
        return found === undefined ? undefined : Number(found.split(' ').pop());
      };
      return {
        hit: read('threadflight_cache_requests_total{name="users",outcome="hit"}'),
        miss: read('threadflight_cache_requests_total{name="users",outcome="miss"}'),
        factoryRuns: read('threadflight_cache_factory_runs_total{name="users"}'),
        tierHits: read('threadflight_cache_tier_hits_total{name="users"}'),
        entries: read('threadflight_cache_entries{name="users"}'),
      };
    };
    expect(await scrape(a)).toEqual({ hit: 1, miss: 1, factoryRuns: 1, tierHits: 0, entries: 1 });
    for (const p of [b, c])
      expect(await scrape(p)).toEqual({ hit: 2, miss: 1, factoryRuns: 0, tierHits: 1, entries: 1 });
  });

  test('a miss in 3 processes at once runs the factory once; every process stores the value', async () => {
    const processes = await group(3);
    const replies = await Promise.all(
      processes.map((p) => p.call('many', { key: 'hot', count: 20, factory: { delayMs: 300 } })),
    );
    const values = replies.flatMap((r) => r.value);
    expect(values).toHaveLength(60);
    expect(new Set(values.map((v) => JSON.stringify(v))).size).toBe(1);
    expect(await factoryRuns(processes)).toBe(1);
    for (const p of processes) expect((await p.call('get', { key: 'hot' })).value).toEqual(values[0]);
  });

  test("delete() in one process reaches every process's memory and Redis", async () => {
    const [a, b, c] = await group(3);
    await a.call('getOrSet', { key: 'k', factory: { value: 'v1' } });
    await b.call('getOrSet', { key: 'k', factory: {} });
    await c.call('getOrSet', { key: 'k', factory: {} });
    expect((await c.call('get', { key: 'k' })).value).toBe('v1');
    await b.call('delete', { key: 'k' });
    await sleep(100); // the invalidation travels through pub/sub
    for (const p of [a, b, c]) expect((await p.call('get', { key: 'k' })).value).toBeUndefined();
    const again = await c.call('getOrSet', { key: 'k', factory: { value: 'v2' } });
    expect(again).toMatchObject({ value: 'v2', status: { fill: 'factory' } });
  });

  test("a deletion racing another process's fill: the old value is written back neither in memory nor in Redis", async () => {
    const [a, b] = await group(2);
    const filling = a.call('getOrSet', { key: 'k', factory: { value: 'old', delayMs: 300 } });
    await sleep(100);
    await b.call('delete', { key: 'k' });
    expect((await filling).value).toBe('old');
    await sleep(100);
    expect((await a.call('get', { key: 'k' })).value).toBeUndefined();
    const fresh = await b.call('getOrSet', { key: 'k', factory: { value: 'new' } });
    expect(fresh).toMatchObject({ value: 'new', status: { fill: 'factory' } });
  });

  test('clear() in one process reaches every process, and entries stored before it are not read again', async () => {
    const [a, b] = await group(2);
    await a.call('getOrSet', { key: 'x', factory: { value: 1 } });
    await a.call('getOrSet', { key: 'y', factory: { value: 2 } });
    await b.call('getOrSet', { key: 'x', factory: {} });
    await b.call('clear');
    await sleep(100);
    expect((await a.call('get', { key: 'x' })).value).toBeUndefined();
    // A process started after the clear does not read what Redis held before it.
    const [late] = await group(1, {}, true);
    expect(await late.call('getOrSet', { key: 'x', factory: { value: 'after clear' } })).toMatchObject({
      value: 'after clear',
      status: { fill: 'factory' },
    });
    const reply = await a.call('getOrSet', { key: 'y', factory: { value: 'refilled' } });
    expect(reply).toMatchObject({ value: 'refilled', status: { fill: 'factory' } });
  });

  test('set() replaces the value in Redis and in every process', async () => {
    const [a, b] = await group(2);
    await a.call('getOrSet', { key: 'k', factory: { value: 'old' } });
    await b.call('getOrSet', { key: 'k', factory: {} });
    await a.call('set', { key: 'k', value: 'new' });
    await sleep(100);
    expect((await b.call('get', { key: 'k' })).value).toBeUndefined();
    expect(await b.call('getOrSet', { key: 'k', factory: {} })).toMatchObject({
      value: 'new',
      status: { fill: 'tier' },
    });
  });

  test('entries in Redis keep their ttl, and a process whose memory lost them reads the rest of it', async () => {
    const [a, b] = await group(2, { ttl: 600 });
    await a.call('getOrSet', { key: 'k', factory: { value: 'v' } });
    const [entry] = await admin.keys(`${prefix}:tc:*:e:*`);
    const pttl = await admin.pttl(entry);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(600);
    await sleep(700);
    expect((await b.call('getOrSet', { key: 'k', factory: { value: 'v2' } })).status.fill).toBe('factory');
  });

  test("delete() while this process fills the key: the next caller gets a new value, not the old fill's", async () => {
    const [a] = await group(1);
    const filling = a.call('getOrSet', { key: 'k', factory: { value: 'OLD', delayMs: 300 } });
    await sleep(100);
    await a.call('delete', { key: 'k' });
    const fresh = await a.call('getOrSet', { key: 'k', factory: { value: 'NEW' } });
    expect(fresh).toMatchObject({ value: 'NEW', status: { fill: 'factory' } });
    expect((await filling).value).toBe('OLD');
    await sleep(50);
    expect((await a.call('get', { key: 'k' })).value).toBe('NEW');
    expect((await a.call('stats')).value.factoryRuns).toBe(2);
  });

  test("delete() in one process while another fills: the deleting process's next caller gets a new value", async () => {
    const [a, b] = await group(2);
    const filling = a.call('getOrSet', { key: 'k', factory: { value: 'OLD', delayMs: 300 } });
    await sleep(100);
    await b.call('delete', { key: 'k' });
    const fresh = await b.call('getOrSet', { key: 'k', factory: { value: 'NEW' } });
    expect(fresh.value).toBe('NEW');
    expect((await filling).value).toBe('OLD');
    await sleep(100);
    expect((await a.call('get', { key: 'k' })).value).not.toBe('OLD');
    expect((await b.call('get', { key: 'k' })).value).toBe('NEW');
  });

  test("a custom codec is handed the application's values only", async () => {
    const processes = await group(2, { codec: 'users' });
    const replies = await Promise.all(
      processes.map((p) => p.call('many', { key: 'user:7', count: 5, factory: { value: { id: 7 }, delayMs: 200 } })),
    );
    expect(replies.flatMap((r) => r.value)).toEqual(Array(10).fill({ id: 7 }));
    expect(await factoryRuns(processes)).toBe(1);
    for (const p of processes) {
      const { coordinator, warnings } = (await p.call('stats')).value;
      expect(coordinator.unsendable).toBe(0);
      expect(warnings).toEqual([]);
    }
  });

  test('clear() is not mistaken for tampering: entries from before it are simply gone', async () => {
    const [a, b] = await group(2);
    await a.call('getOrSet', { key: 'k', factory: { value: 'before' } });
    await a.call('clear');
    await sleep(50);
    const reply = await b.call('getOrSet', { key: 'k', factory: { value: 'after' } });
    expect(reply).toMatchObject({ value: 'after', status: { fill: 'factory' } });
    const { coordinator, warnings } = (await b.call('stats')).value;
    expect(coordinator.refused).toBe(0);
    expect(warnings).toEqual([]);
  });

  test("messages on a cache's channel that are malformed, or not signed with the secret, change nothing", async () => {
    const [a] = await group(1, { secret: 's3cret' });
    await a.call('getOrSet', { key: 'k', factory: { value: 'kept' } });
    const [channel] = (await admin.pubsub('CHANNELS', `${prefix}:tc:*`)).map(String);
    expect(channel).toBeDefined();
    for (const junk of ['{}', '[]', '{"o":5}', 'null', '"text"', '{"o":"x"}', '{"o":"x","k":"k"}', '{"o":"x","c":1}']) {
      await admin.publish(channel, junk);
    }
    await sleep(100);
    expect((await a.call('get', { key: 'k' })).value).toBe('kept');
    // A member with the secret is heard.
    const [b] = await group(1, { secret: 's3cret' }, true);
    await b.call('delete', { key: 'k' });
    await sleep(100);
    expect((await a.call('get', { key: 'k' })).value).toBeUndefined();
  });

  test('with Redis gone, each process fills its own memory and nothing is lost or hung', async () => {
    const [a] = await group(1);
    await redis.kill();
    try {
      const reply = await a.call('getOrSet', { key: 'down', factory: { value: 'local' } });
      expect(reply).toMatchObject({ value: 'local', status: { get: 'miss', fill: 'factory' } });
      expect((await a.call('get', { key: 'down' })).value).toBe('local');
      const stats = (await a.call('stats')).value;
      expect(stats.warnings).toContain('THREADFLIGHT_REDIS_UNAVAILABLE');
    } finally {
      await redis.start();
      admin.disconnect();
      admin = new Redis(redis.port);
    }
  });
});
