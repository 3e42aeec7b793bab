// threadflight/redis with a real redis-server and real member processes (each with worker
// threads): one execution per key across processes, takeover from a dead or frozen leader,
// Redis dying mid-flight, large, unsendable and forged outcomes.
const Redis = require('ioredis').default;
const { startRedis, startCluster, startMember } = require('./helpers');

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

let prefixes = 0;
const uniquePrefix = () => `t${process.pid}-${(prefixes += 1)}`;

/** Every caller's result across a member's threads and rounds. */
function results(done, round = 0) {
  return done.rounds.flatMap((thread) => thread[round].results);
}
const runs = (members, round = 0) =>
  members.flatMap((m) => m.events.filter((e) => e.event === 'running' && e.round === round));

async function waiters(prefix, count) {
  for (;;) {
    const keys = await admin.keys(`${prefix}:tf:*:waiters`);
    let total = 0;
    for (const key of keys) total += await admin.zcard(key);
    if (total >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function finished(member) {
  const done = await member.waitFor('done', 30_000);
  const exit = await member.exited;
  expect(member.events.filter((e) => e.event === 'unhandled')).toEqual([]);
  expect(exit).toMatchObject({ code: 0, signal: null });
  return done;
}

test('4 processes x 2 worker threads x 25 callers of one key: one execution, one value for all 200', async () => {
  const prefix = uniquePrefix();
  const members = Array.from({ length: 4 }, () =>
    startMember({ port: redis.port, prefix, threads: 2, callers: 25, workMs: 1500 }),
  );
  const done = await Promise.all(members.map(finished));
  const all = done.flatMap((d) => results(d));
  expect(all).toHaveLength(200);
  // Threads coalesce first: in each process exactly one thread took part in Redis at all.
  for (const d of done) {
    const talked = d.rounds.map(([{ stats }]) => stats.led + stats.received + stats.ranLocally);
    expect(talked.sort()).toEqual([0, 1]);
  }
  expect(runs(members)).toHaveLength(1);
  const [first] = all;
  expect(first.ok).toBe(true);
  expect(all.every((r) => r.ok && r.by.pid === first.by.pid && r.by.threadId === first.by.threadId)).toBe(true);
  // getStats()' counters, process-wide: each process started one flight (its leader thread's),
  // three of them answered by the one that ran; in each, the leader thread's 24 other callers
  // joined in their thread and the other thread's 25 joined from theirs.
  const counters = done.map((d) => d.processStats);
  expect(counters.map((c) => [c.flightsStarted, c.joinedSameThread, c.joinedOtherThread])).toEqual(
    Array(4).fill([1, 24, 25]),
  );
  expect(counters.reduce((sum, c) => sum + c.servedByOtherProcess, 0)).toBe(3);
});

test('a leader killed with SIGKILL mid-flight: exactly one waiter takes over within the lease and a second', async () => {
  const prefix = uniquePrefix();
  const leaseMs = 1000;
  const leader = startMember({ port: redis.port, prefix, callers: 3, workMs: 60_000, leaseMs });
  await leader.waitFor('running');
  const others = Array.from({ length: 3 }, () =>
    startMember({ port: redis.port, prefix, threads: 2, callers: 5, workMs: 500, leaseMs }),
  );
  await waiters(prefix, 3);
  const killedAt = Date.now();
  leader.child.kill('SIGKILL');
  const done = await Promise.all(others.map(finished));
  const settledAfter = Date.now() - killedAt;
  const all = done.flatMap((d) => results(d));
  expect(all).toHaveLength(30);
  const takeovers = runs(others);
  expect(takeovers).toHaveLength(1);
  expect(all.every((r) => r.ok && r.by.pid === takeovers[0].pid)).toBe(true);
  expect(settledAfter).toBeLessThan(leaseMs + 1000 + 500); // + the new leader's 500 ms of work
  expect(done.map((d) => d.rounds[0][0].stats.tookOver + d.rounds[1][0].stats.tookOver).reduce((a, b) => a + b)).toBe(
    1,
  );
});

test('a leader frozen past its lease is replaced; its late result reaches only its own callers', async () => {
  const prefix = uniquePrefix();
  const leaseMs = 600;
  const frozen = startMember({ port: redis.port, prefix, callers: 4, workMs: 2500, leaseMs });
  await frozen.waitFor('running');
  const other = startMember({ port: redis.port, prefix, callers: 4, workMs: 300, leaseMs });
  await waiters(prefix, 1);
  frozen.child.kill('SIGSTOP');
  await new Promise((resolve) => setTimeout(resolve, leaseMs * 3));
  frozen.child.kill('SIGCONT');
  const [frozenDone, otherDone] = await Promise.all([finished(frozen), finished(other)]);
  const frozenPid = frozen.child.pid;
  const taker = runs([other]);
  expect(taker).toHaveLength(1);
  expect(results(otherDone).every((r) => r.ok && r.by.pid === other.child.pid)).toBe(true);
  expect(results(frozenDone).every((r) => r.ok && r.by.pid === frozenPid)).toBe(true);
  expect(frozenDone.rounds[0][0].stats.lostLeases).toBe(1);
});

test('redis-server killed mid-flight: every caller settles, then coordination resumes once it is back', async () => {
  const prefix = uniquePrefix();
  // Round 1 starts in both members at one moment, well after Redis is back (their round 0 ends
  // at different times: each ran its own work while Redis was gone).
  const roundAt = [undefined, Date.now() + 9000];
  const config = { port: redis.port, prefix, callers: 3, workMs: 1200, rounds: 2, roundAt, retryAfterMs: 500 };
  const first = startMember(config);
  await first.waitFor('running');
  const second = startMember(config);
  await waiters(prefix, 1);
  await redis.kill();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await redis.start();
  const done = await Promise.all([finished(first), finished(second)]);
  // Round 0: nobody was left waiting (each process ran its own work at worst).
  expect(done.flatMap((d) => results(d, 0)).every((r) => r.ok)).toBe(true);
  expect(done.some((d) => d.rounds[0][0].stats.redisErrors > 0)).toBe(true);
  // Round 1, after the restart: one execution again.
  expect(done.flatMap((d) => results(d, 1)).every((r) => r.ok)).toBe(true);
  expect(runs([first, second], 1)).toHaveLength(1);
});

test('an 8 MiB value crosses processes', async () => {
  const prefix = uniquePrefix();
  const members = Array.from({ length: 3 }, () =>
    startMember({ port: redis.port, prefix, callers: 2, workMs: 1500, value: 'big' }),
  );
  const all = (await Promise.all(members.map(finished))).flatMap((done) => results(done));
  expect(runs(members)).toHaveLength(1);
  expect(all.every((r) => r.ok && r.bytes === 8 * 1024 * 1024)).toBe(true);
});

test('an error crosses processes with its class, message and code', async () => {
  const prefix = uniquePrefix();
  const members = Array.from({ length: 3 }, () =>
    startMember({ port: redis.port, prefix, callers: 2, workMs: 1500, value: 'error' }),
  );
  const all = (await Promise.all(members.map(finished))).flatMap((done) => results(done));
  expect(runs(members)).toHaveLength(1);
  const leaderPid = runs(members)[0].pid;
  for (const r of all) {
    expect(r).toMatchObject({ ok: false, name: 'RangeError', code: 'E_WORK', message: `failed in ${leaderPid}` });
  }
});

test('an outcome that cannot be sent makes each waiting process run its own work, warned once', async () => {
  const prefix = uniquePrefix();
  const members = Array.from({ length: 3 }, () =>
    startMember({ port: redis.port, prefix, callers: 2, workMs: 1500, value: 'function' }),
  );
  const done = await Promise.all(members.map(finished));
  // Functions cannot be cloned even here: every caller of every process fails the same way as
  // without Redis — no, a local value with a function is delivered as is to its own callers.
  for (const [i, d] of done.entries()) {
    expect(results(d).every((r) => r.ok && r.by.pid === members[i].child.pid)).toBe(true);
  }
  expect(runs(members)).toHaveLength(3);
  const leader = members.find((m) =>
    m.events.some((e) => e.event === 'warning' && e.code === 'THREADFLIGHT_REDIS_UNSENDABLE'),
  );
  expect(leader).toBeDefined();
});

test('with a secret, a record not signed with it is refused: the process runs its own work', async () => {
  const prefix = uniquePrefix();
  const forger = startMember({ port: redis.port, prefix, callers: 1, workMs: 1500, secret: 'not-the-secret' });
  await forger.waitFor('running');
  const honest = startMember({ port: redis.port, prefix, callers: 2, workMs: 300, secret: 'the-secret' });
  const [, honestDone] = await Promise.all([finished(forger), finished(honest)]);
  expect(results(honestDone).every((r) => r.ok && r.by.pid === honest.child.pid)).toBe(true);
  expect(honest.events).toContainEqual({ event: 'warning', code: 'THREADFLIGHT_REDIS_REFUSED' });
  expect(honestDone.rounds[0][0].stats.refused).toBe(1);
});

test("a leader's work goes on while another process waits, though its own callers left", async () => {
  const prefix = uniquePrefix();
  const leaving = startMember({
    port: redis.port,
    prefix,
    callers: 2,
    workMs: 3000,
    abortAfterMs: 1500,
    lingerMs: 2500,
  });
  await leaving.waitFor('running');
  const staying = startMember({ port: redis.port, prefix, callers: 2, workMs: 200 });
  await waiters(prefix, 1); // registered before the leader's callers leave
  const [leftDone, stayedDone] = await Promise.all([finished(leaving), finished(staying)]);
  expect(results(leftDone).every((r) => !r.ok && r.name === 'TimeoutError')).toBe(true);
  expect(results(stayedDone).every((r) => r.ok && r.by.pid === leaving.child.pid)).toBe(true);
  expect(runs([leaving, staying])).toHaveLength(1);
  expect(leaving.events.filter((e) => e.event === 'aborted')).toEqual([]);
});

test('a leader whose callers all left, with nobody waiting elsewhere, aborts its work and frees the key', async () => {
  const prefix = uniquePrefix();
  const leaving = startMember({ port: redis.port, prefix, callers: 2, workMs: 5000, abortAfterMs: 300 });
  await leaving.waitFor('aborted');
  const startedAt = Date.now();
  const next = startMember({ port: redis.port, prefix, callers: 1, workMs: 100 });
  const nextDone = await finished(next);
  const tookMs = Date.now() - startedAt;
  await finished(leaving);
  expect(results(nextDone)).toEqual([
    expect.objectContaining({ ok: true, by: expect.objectContaining({ pid: next.child.pid }) }),
  ]);
  expect(tookMs).toBeLessThan(2000); // the lease was given up, not left to lapse
});

test('10 000 distinct keys in flight at once across 2 processes: each key runs once, each caller gets its own key', async () => {
  const prefix = uniquePrefix();
  // Each leading flight renews its lease every leaseMs / 3: 10 000 of them with a long lease.
  const config = {
    port: redis.port,
    prefix,
    keys: 10_000,
    callers: 1,
    workMs: 3000,
    leaseMs: 6000,
    commandTimeoutMs: 5000,
  };
  const members = [startMember(config), startMember(config)];
  const done = await Promise.all(members.map(finished));
  const all = done.flatMap((d) => results(d));
  expect(all).toHaveLength(20_000);
  expect(all.filter((r) => !r.ok || r.key !== r.asked)).toEqual([]);
  const ran = runs(members).map((e) => e.key);
  expect(ran).toHaveLength(10_000);
  expect(new Set(ran).size).toBe(10_000);
  expect(done.reduce((sum, d) => sum + d.rounds[0][0].stats.redisErrors, 0)).toBe(0);
}, 120_000);

describe('on a Redis Cluster of 3 masters', () => {
  let cluster;
  beforeAll(async () => {
    cluster = await startCluster();
  }, 60_000);
  afterAll(() => cluster?.stop());

  test('3 processes x 2 threads x 10 callers of each of 20 keys: each key runs once, in one process', async () => {
    const prefix = uniquePrefix();
    // Every member calls at one moment: process start-up alone may take longer than the work.
    const startAt = Date.now() + 4000;
    const members = Array.from({ length: 3 }, () =>
      startMember({ cluster: cluster.ports, prefix, threads: 2, callers: 10, keys: 20, workMs: 1500, startAt }),
    );
    const all = (await Promise.all(members.map(finished))).flatMap((done) => results(done));
    expect(all).toHaveLength(3 * 2 * 10 * 20);
    expect(all.filter((r) => !r.ok || r.key !== r.asked)).toEqual([]);
    const ran = runs(members);
    expect(ran).toHaveLength(20);
    const leaderOf = new Map(ran.map((e) => [e.key, `${e.pid}/${e.threadId}`]));
    expect(all.every((r) => leaderOf.get(r.key) === `${r.by.pid}/${r.by.threadId}`)).toBe(true);
  });
});

test('key names carry no user data; a damaged record on the channel is refused, never a crash', async () => {
  const prefix = uniquePrefix();
  const leader = startMember({ port: redis.port, prefix, callers: 1, workMs: 2500 });
  await leader.waitFor('running');
  const waiter = startMember({ port: redis.port, prefix, callers: 2, workMs: 200 });
  await waiters(prefix, 1);
  const keys = await admin.keys(`${prefix}:*`);
  expect(keys.length).toBeGreaterThan(0);
  expect(keys.filter((key) => key.includes('hot') || key.includes('redis-test'))).toEqual([]);
  // The flight's channel is its keys' common stem; the record has the right magic, a broken id.
  const channel = keys[0].slice(0, keys[0].indexOf('}') + 1);
  const damaged = Buffer.concat([Buffer.from('TFR1'), Buffer.from([0, 0, 0, 0, 4]), Buffer.from('null')]);
  await admin.publish(channel, damaged);
  await admin.publish(channel, Buffer.from('not a record at all'));
  const [, waiterDone] = await Promise.all([finished(leader), finished(waiter)]);
  expect(results(waiterDone).every((r) => r.ok && r.by.pid === waiter.child.pid)).toBe(true);
  expect(waiterDone.rounds[0][0].stats.refused).toBe(1);
});

test("maxDuration is one deadline for the flight in every process, counted from the flight's start", async () => {
  const prefix = uniquePrefix();
  const maxDuration = 2000;
  const leader = startMember({ port: redis.port, prefix, threads: 2, callers: 2, workMs: 4000, maxDuration });
  const { at: startedAt } = await leader.waitFor('running');
  await new Promise((resolve) => setTimeout(resolve, 600));
  const waiter = startMember({ port: redis.port, prefix, threads: 2, callers: 2, workMs: 100, maxDuration });
  const [leaderDone, waiterDone] = await Promise.all([finished(leader), finished(waiter)]);
  for (const r of [...results(leaderDone), ...results(waiterDone)]) {
    // In every thread, of its class (the thread that led here passes it on to the other).
    expect(r).toMatchObject({ ok: false, name: 'FlightTimeoutError', code: 'ERR_FLIGHT_TIMEOUT', isTimeout: true });
    // Never early: the flight started on the server shortly before its work said so.
    expect(r.at - startedAt).toBeGreaterThanOrEqual(maxDuration - 150);
    expect(r.at - startedAt).toBeLessThan(maxDuration + 400); // the waiter's own start plus 2 s would be later
  }
  expect(runs([leader, waiter])).toHaveLength(1);
});

test('an outcome whose encoding throws something unreadable: the leader answers its callers, waiters run their own', async () => {
  const prefix = uniquePrefix();
  const config = { port: redis.port, prefix, callers: 2, workMs: 1500, value: 'hostile', codec: 'json' };
  const leader = startMember(config);
  await leader.waitFor('running');
  const waiter = startMember(config);
  await waiters(prefix, 1);
  const [leaderDone, waiterDone] = await Promise.all([finished(leader), finished(waiter)]);
  expect(results(leaderDone).every((r) => r.ok && r.by.pid === leader.child.pid)).toBe(true);
  expect(results(waiterDone).every((r) => r.ok && r.by.pid === waiter.child.pid)).toBe(true);
  expect(leaderDone.rounds[0][0].stats.unsendable).toBe(1);
});

test('keys that differ only in lone surrogates are different flights in Redis too', async () => {
  const prefix = uniquePrefix();
  const slow = startMember({ port: redis.port, prefix, key: '\uD800', callers: 1, workMs: 2500 });
  await slow.waitFor('running');
  const startedAt = Date.now();
  const quick = startMember({ port: redis.port, prefix, key: '\uDBFF', callers: 1, workMs: 10 });
  const quickDone = await finished(quick);
  expect(Date.now() - startedAt).toBeLessThan(2000);
  expect(results(quickDone)).toEqual([expect.objectContaining({ ok: true, asked: '\uDBFF:0:0' })]);
  expect(quickDone.rounds[0][0].stats).toMatchObject({ led: 1, refused: 0 });
  await finished(slow);
});

test('a LOOK that timed out but ran later on the server gives back the lease it took', async () => {
  const prefix = uniquePrefix();
  const pauser = new Redis(redis.port);
  // Writes wait on the server for 1.5 s: the first member's LOOK times out (it runs locally),
  // then executes once the pause ends and takes the lease.
  await pauser.call('CLIENT', 'PAUSE', '1500', 'WRITE');
  const first = startMember({
    port: redis.port,
    prefix,
    callers: 1,
    workMs: 100,
    commandTimeoutMs: 300,
    leaseMs: 60_000,
    lingerMs: 2500,
  });
  const firstDone = await finished(first);
  expect(firstDone.rounds[0][0].stats).toMatchObject({ ranLocally: 1, redisErrors: 1 });
  expect(await admin.keys(`${prefix}:*:lease`)).toEqual([]);
  pauser.disconnect();
});

test("forget() lets this process's flight go in Redis: the next caller runs the work again", async () => {
  const prefix = uniquePrefix();
  const member = startMember({ port: redis.port, prefix, callers: 1, workMs: 1500, forgetAfterMs: 300 });
  const done = await finished(member);
  const [first, again] = results(done);
  expect(first).toMatchObject({ ok: true });
  expect(again).toMatchObject({ ok: true, again: true });
  expect(runs([member])).toHaveLength(2);
});

test('close() while leading: the flight is published first, so a waiting process gets it', async () => {
  const prefix = uniquePrefix();
  const leader = startMember({ port: redis.port, prefix, callers: 1, workMs: 800, closeEarly: true });
  await leader.waitFor('running');
  const waiter = startMember({ port: redis.port, prefix, callers: 1, workMs: 100 });
  const [, waiterDone] = await Promise.all([finished(leader), finished(waiter)]);
  expect(results(waiterDone)).toEqual([
    expect.objectContaining({ ok: true, by: expect.objectContaining({ pid: leader.child.pid }) }),
  ]);
  expect(runs([leader, waiter])).toHaveLength(1);
});

test('with nobody waiting elsewhere, a flight stores nothing in Redis', async () => {
  const prefix = uniquePrefix();
  const member = startMember({ port: redis.port, prefix, callers: 2, workMs: 100, value: 'big' });
  await finished(member);
  expect(await admin.keys(`${prefix}:*`)).toEqual([]);
});

test('with a secret, a genuine old record written back into Redis is refused', async () => {
  const prefix = uniquePrefix();
  const config = { port: redis.port, prefix, callers: 1, secret: 's3cret', leaseMs: 600, commandTimeoutMs: 300 };
  const first = startMember({ ...config, workMs: 800 });
  await first.waitFor('running');
  const second = startMember({ ...config, workMs: 100 });
  await waiters(prefix, 1);
  // The attacker copies the signed record while it is readable...
  let copied;
  while (!copied) {
    const [doneKey] = await admin.keys(`${prefix}:*:done:*`);
    if (doneKey) copied = { doneKey, record: await admin.getBuffer(doneKey) };
    else await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await Promise.all([finished(first), finished(second)]);
  // ...and, once it has expired, writes it back with a lease naming its token.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const base = copied.doneKey.slice(0, copied.doneKey.indexOf(':done:'));
  const token = copied.doneKey.slice(copied.doneKey.indexOf(':done:') + ':done:'.length);
  await admin.set(`${base}:lease`, `${token} ${Date.now()}`, 'PX', 5000); // a flight starting now
  await admin.set(copied.doneKey, copied.record, 'PX', 5000);
  const victim = startMember({ ...config, workMs: 100 });
  const victimDone = await finished(victim);
  expect(results(victimDone)).toEqual([
    expect.objectContaining({ ok: true, by: expect.objectContaining({ pid: victim.child.pid }) }),
  ]);
  expect(victimDone.rounds[0][0].stats.refused).toBe(1);
});
