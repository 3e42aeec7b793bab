// The coalesce middleware and services/main in a real AdonisJS app (fixtures/server.mjs) served
// over real HTTP, on AdonisJS 6 (this Node.js) and AdonisJS 7 (Node.js 24).
const { VERSIONS, startApp, request, json, statsWhen } = require('./helpers');

describe.each(VERSIONS.map((version) => [version.name, version]))('%s', (_name, version) => {
  let app;
  let base;
  beforeAll(async () => {
    app = await startApp(version);
    base = app.base;
  });
  afterAll(async () => {
    const exit = await app?.stop();
    // The provider's shutdown ran and the process ended by itself, with nothing on stderr.
    expect(exit.stdout).toContain('terminated');
    expect(exit.stderr).toBe('');
  });

  test('the app runs the AdonisJS and Node.js of its version, and this package through its exports', () => {
    const fs = require('node:fs');
    const path = require('node:path');
    const modules = version.name === 'AdonisJS 6' ? path.join(__dirname, '..', '..') : path.join(__dirname, 'v7-app');
    expect(fs.realpathSync(app.loaded.core)).toContain(path.join(modules, 'node_modules', '@adonisjs', 'core'));
    expect(fs.realpathSync(app.loaded.threadflight)).toBe(
      version.name === 'AdonisJS 6'
        ? path.join(modules, 'dist', 'adonis', 'middleware.mjs')
        : path.join(modules, 'node_modules', 'threadflight', 'dist', 'adonis', 'middleware.mjs'),
    );
    expect(app.node).toMatch(version.name === 'AdonisJS 6' ? /^v2[02]\./ : /^v24\./);
    const core = JSON.parse(
      fs.readFileSync(path.join(modules, 'node_modules', '@adonisjs', 'core', 'package.json'), 'utf8'),
    );
    expect(core.version).toMatch(version.name === 'AdonisJS 6' ? /^6\./ : /^7\./);
  });

  const waiting = (n) => (stats) => stats.main.totalSubscribers === n;
  const open = (gate) => request(`${base}/__open/${gate}`);
  const runsOf = async (route) => (await json(`${base}/__stats`)).runs[route] ?? 0;

  test('200 concurrent identical requests: one handler run, 200 byte-identical responses', async () => {
    const all = Array.from({ length: 200 }, () => request(`${base}/gated/g200`));
    await statsWhen(base, waiting(200), '200 requests waiting');
    await open('g200');
    const responses = await Promise.all(all);
    expect(await runsOf('gated')).toBe(1);
    const leaderBody = responses[0].body;
    expect(JSON.parse(leaderBody)).toEqual({ gate: 'g200', run: 1, query: {} });
    for (const res of responses) {
      expect(res.status).toBe(200);
      expect(res.body.equals(leaderBody)).toBe(true);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['x-custom']).toBe('abc');
    }
    // Per-request and hop-by-hop headers reach the leader's client alone.
    expect(responses.filter((res) => res.headers['x-request-id'] !== undefined)).toHaveLength(1);
    expect(responses.filter((res) => res.headers['proxy-authenticate'] !== undefined)).toHaveLength(1);
  });

  test('the key is method, path, sorted query and the vary headers', async () => {
    const same = [request(`${base}/gated/gq?b=2&a=1`), request(`${base}/gated/gq?a=1&b=2`)];
    const other = request(`${base}/gated/gq?a=1&b=2`, { headers: { accept: 'text/html' } });
    const conditional = request(`${base}/gated/gq?a=1&b=2`, { headers: { 'if-none-match': '"x"' } });
    await statsWhen(base, (s) => s.main.inFlightCount === 3 && s.main.totalSubscribers === 4, '3 flights');
    await open('gq');
    const bodies = (await Promise.all([...same, other, conditional])).map((res) => JSON.parse(res.body));
    expect(bodies[0]).toEqual(bodies[1]);
    expect(new Set(bodies.map((body) => body.run)).size).toBe(3);
    const stats = await json(`${base}/__stats`);
    expect(stats.flightKeys.gq.split('\n').slice(0, 3)).toEqual(['GET', '/gated/gq', 'a=1&b=2']);
  });

  test('requests with Authorization or Cookie are not coalesced without a key option', async () => {
    const before = await runsOf('gated');
    const all = [
      request(`${base}/gated/gauth`, { headers: { authorization: 'Bearer alice' } }),
      request(`${base}/gated/gauth`, { headers: { authorization: 'Bearer bob' } }),
      request(`${base}/gated/gauth`, { headers: { cookie: 'sid=carol' } }),
    ];
    await statsWhen(base, (s) => s.runs.gated - before === 3 && s.main.totalSubscribers === 0, '3 handlers, no flight');
    await open('gauth');
    const runs = (await Promise.all(all)).map((res) => JSON.parse(res.body).run);
    expect(new Set(runs).size).toBe(3);
    expect((await runsOf('gated')) - before).toBe(3);
  });

  test('with a key that names the viewer, each viewer shares only with itself', async () => {
    const alice = [1, 2].map(() => request(`${base}/per-user/pu`, { headers: { authorization: 'alice' } }));
    const bob = request(`${base}/per-user/pu`, { headers: { authorization: 'bob' } });
    await statsWhen(base, (s) => s.main.inFlightCount === 2 && s.main.totalSubscribers === 3, 'alice x2, bob');
    await open('pu');
    const [a1, a2, b] = (await Promise.all([...alice, bob])).map((res) => JSON.parse(res.body));
    expect(a1).toEqual(a2);
    expect(a1.user).toBe('alice');
    expect(b.user).toBe('bob');
    expect(await runsOf('per-user')).toBe(2);
  });

  test('a response that sets a cookie is not shared: each request runs its own, and no cookie is replayed', async () => {
    const all = [1, 2, 3].map(() => request(`${base}/cookie/gc`));
    await statsWhen(base, waiting(3), '3 waiting');
    await open('gc');
    const responses = await Promise.all(all);
    expect(await runsOf('cookie')).toBe(3);
    const cookies = responses.map((res) => res.headers['set-cookie'][0].split(';')[0]);
    const runs = responses.map((res) => JSON.parse(res.body).run);
    expect(new Set(cookies).size).toBe(3);
    responses.forEach((res, i) => expect(cookies[i]).toBe(`sid=secret-${runs[i]}`));
  });

  test('Cache-Control private, stream bodies and bodies over maxBytes are not shared', async () => {
    const cases = [
      ['private', `${base}/private/gp`],
      ['stream', `${base}/stream/gs`],
      ['big', `${base}/big/gb?bytes=5000`],
    ];
    for (const [route, url] of cases) {
      const all = [1, 2, 3].map(() => request(url));
      await statsWhen(base, waiting(3), `3 waiting on ${route}`);
      await open(new URL(url).pathname.split('/')[2]);
      const bodies = (await Promise.all(all)).map((res) => res.body.toString());
      expect(await runsOf(route)).toBe(3);
      expect(new Set(bodies).size).toBe(3);
    }
    // Under maxBytes, the same route shares.
    const small = [1, 2, 3].map(() => request(`${base}/big/gb2?bytes=100`));
    await statsWhen(base, waiting(3), '3 waiting on a small body');
    await open('gb2');
    const bodies = (await Promise.all(small)).map((res) => res.body.toString());
    expect(new Set(bodies)).toEqual(new Set([`4:`.padEnd(100, 'x')]));
    expect(await runsOf('big')).toBe(4);
  });

  test('a client that disconnects leaves the flight; the others still get the response', async () => {
    const leader = request(`${base}/gated/gd`);
    await statsWhen(base, waiting(1), 'the leader');
    const follower = request(`${base}/gated/gd`);
    follower.catch(() => {});
    await statsWhen(base, waiting(2), 'leader and follower');
    follower.abort();
    await statsWhen(base, waiting(1), 'the follower gone');
    await open('gd');
    expect((await leader).status).toBe(200);
    const stats = await json(`${base}/__stats`);
    expect(stats.leaderSignals.gd).toBe(false);
  });

  test('the leader client leaving does not end its handler; when every client is gone, ctx.flight.signal aborts', async () => {
    const leader = request(`${base}/gated/gl`);
    leader.catch(() => {});
    await statsWhen(base, waiting(1), 'the leader');
    const follower = request(`${base}/gated/gl`);
    await statsWhen(base, waiting(2), 'leader and follower');
    leader.abort();
    await statsWhen(base, waiting(1), 'the leader gone');
    await open('gl');
    const res = await follower;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).gate).toBe('gl');

    const alone = request(`${base}/gated/ga`);
    alone.catch(() => {});
    await statsWhen(base, waiting(1), 'one request');
    alone.abort();
    await statsWhen(base, (s) => s.leaderSignals.ga === true && s.main.totalSubscribers === 0, 'the signal aborted');
    await open('ga');
  });

  test('a throwing handler: its rendered error response is replayed, the handler ran once', async () => {
    const all = [1, 2, 3].map(() => request(`${base}/boom/gx`));
    await statsWhen(base, waiting(3), '3 waiting');
    await open('gx');
    const responses = await Promise.all(all);
    expect(await runsOf('boom')).toBe(1);
    for (const res of responses) {
      expect(res.status).toBe(500);
      expect(res.body.toString()).toBe(responses[0].body.toString());
    }
    expect(responses[0].body.toString()).toContain('kaboom 1');
  });

  test('HEAD requests are coalesced apart from GET, and get headers only', async () => {
    const heads = [1, 2, 3].map(() => request(`${base}/gated/gh`, { method: 'HEAD' }));
    const get = request(`${base}/gated/gh`);
    await statsWhen(base, (s) => s.main.inFlightCount === 2 && s.main.totalSubscribers === 4, 'HEAD x3, GET');
    await open('gh');
    const [h1, h2, h3, g] = await Promise.all([...heads, get]);
    for (const head of [h1, h2, h3]) {
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
      expect(head.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(head.headers['x-custom']).toBe('abc');
    }
    expect(g.body.length).toBeGreaterThan(0);
  });

  test('a flight past maxDuration: followers get 504 through the exception handler, the leader its own response', async () => {
    const leader = request(`${base}/slow/gt`);
    await statsWhen(base, (s) => s.runs.slow === 1, 'the leader running');
    const follower = await request(`${base}/slow/gt`);
    expect(follower.status).toBe(504);
    await open('gt');
    const res = await leader;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ run: 1 });
  });

  test('a flight with maxSubscribers requests: the next gets 503 with Retry-After', async () => {
    const two = [1, 2].map(() => request(`${base}/full/gf`));
    await statsWhen(base, (s) => s.small.totalSubscribers === 2, '2 waiting');
    const third = await request(`${base}/full/gf`);
    expect(third.status).toBe(503);
    expect(third.headers['retry-after']).toBe('1');
    await open('gf');
    const bodies = (await Promise.all(two)).map((res) => res.body.toString());
    expect(bodies).toEqual([JSON.stringify({ run: 1 }), JSON.stringify({ run: 1 })]);
  });

  test('methods other than GET and HEAD are not coalesced', async () => {
    const all = [1, 2].map(() => request(`${base}/post/gpost`, { method: 'POST' }));
    await statsWhen(base, (s) => s.runs.post === 2 && s.main.totalSubscribers === 0, '2 handlers, no flight');
    await open('gpost');
    const runs = (await Promise.all(all)).map((res) => JSON.parse(res.body).run);
    expect(runs.sort()).toEqual([1, 2]);
  });

  test('services/main is the container manager: execute, isInFlight, getInFlightCount, remember, getOrSet', async () => {
    const result = await json(`${base}/__service`);
    expect(result).toEqual({
      values: [42, 42],
      works: 1,
      during: { inFlight: true, count: 1 },
      after: { inFlight: false, count: 0 },
      remembered: [1, 1, 1],
      factories: 1,
      sameAsContainer: true,
      namedInstance: expect.stringMatching(/^adonis-test-\d+$/),
    });
  });
});
