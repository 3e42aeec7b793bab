// threadflight/express on Express 4 and 5, over real HTTP: one handler run for concurrent
// identical requests, byte-identical replays, what is never shared, errors through Express's
// own error path, disconnects, HEAD, and the micro-cache.
const { coalesce } = require('../../dist/express');
const { FlightTimeoutError, TooManySubscribersError } = require('../..');
const { EXPRESS, listen, request, gate, sleep } = require('./helpers');

let servers = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

describe.each(Object.entries(EXPRESS))('%s', (_, expressPath) => {
  const express = require(expressPath);

  /** An app whose requests are counted on arrival; `build(app)` adds the routes. */
  async function serve(build) {
    const app = express();
    const arrivals = gate();
    app.use((req, res, next) => {
      arrivals.arrive();
      next();
    });
    const errors = [];
    build(app);
    app.use((err, req, res, next) => {
      errors.push(err);
      if (res.headersSent) return next(err);
      res.status(err.status ?? 500).json({ error: err.message, code: err.code });
    });
    const server = await listen(app);
    servers.push(server);
    const get = (path, options = {}) => request(server.port, path, { agent: server.agent, ...options });
    return { app, get, arrivals, errors, server };
  }

  test("200 concurrent identical requests run the handler once; all 200 bodies are the leader's bytes", async () => {
    const release = gate(200);
    let runs = 0;
    const { get, arrivals } = await serve((app) => {
      app.get('/products/:id', coalesce({ maxDuration: 5000 }), async (req, res) => {
        runs++;
        await release.opened;
        res.set('X-Product', req.params.id).json({ id: req.params.id, at: process.hrtime.bigint().toString(), runs });
      });
    });
    const pending = Array.from({ length: 200 }, () => get('/products/7?b=2&a=1'));
    while (arrivals.arrived < 200) await sleep(5);
    release.open();
    const responses = await Promise.all(pending);
    expect(runs).toBe(1);
    expect(new Set(responses.map((r) => r.body.toString('base64'))).size).toBe(1);
    expect(responses.every((r) => r.status === 200 && r.headers['x-product'] === '7')).toBe(true);
    expect(responses.every((r) => r.headers['content-type'] === 'application/json; charset=utf-8')).toBe(true);
  });

  test('different query order, same query: one key; different Accept: two keys', async () => {
    const release = gate();
    let runs = 0;
    const { get, arrivals } = await serve((app) => {
      app.get('/q', coalesce(), async (req, res) => {
        const run = ++runs;
        await release.opened;
        res.send(`run ${run} for ${req.headers.accept ?? 'anything'}`);
      });
    });
    const pending = [get('/q?a=1&b=2'), get('/q?b=2&a=1'), get('/q?a=1&b=2', { headers: { accept: 'text/html' } })];
    while (arrivals.arrived < 3) await sleep(5);
    release.open();
    const [first, second, html] = await Promise.all(pending);
    expect(runs).toBe(2);
    expect(second.body).toEqual(first.body);
    expect(html.body).not.toEqual(first.body);
  });

  test('requests with Authorization or Cookie are not coalesced; a key(req) naming the viewer keeps viewers apart', async () => {
    const release = gate();
    let runs = 0;
    const { get, arrivals } = await serve((app) => {
      app.get('/me', coalesce(), async (req, res) => {
        runs++;
        await release.opened;
        res.json({ viewer: req.headers.authorization ?? req.headers.cookie });
      });
      app.get('/mine', coalesce({ key: (req) => `mine:${req.headers.authorization}` }), async (req, res) => {
        runs++;
        await release.opened;
        res.json({ viewer: req.headers.authorization });
      });
    });
    const pending = [
      get('/me', { headers: { authorization: 'Bearer alice' } }),
      get('/me', { headers: { authorization: 'Bearer bob' } }),
      get('/me', { headers: { cookie: 'sid=carol' } }),
      get('/mine', { headers: { authorization: 'Bearer alice' } }),
      get('/mine', { headers: { authorization: 'Bearer alice' } }),
      get('/mine', { headers: { authorization: 'Bearer bob' } }),
    ];
    while (arrivals.arrived < 6) await sleep(5);
    release.open();
    const bodies = (await Promise.all(pending)).map((r) => JSON.parse(r.body).viewer);
    expect(bodies).toEqual(['Bearer alice', 'Bearer bob', 'sid=carol', 'Bearer alice', 'Bearer alice', 'Bearer bob']);
    expect(runs).toBe(5); // three alone, alice's two /mine shared, bob's /mine alone
  });

  test('Set-Cookie is never replayed: a response that sets one is not shared', async () => {
    const release = gate();
    let runs = 0;
    const { get, arrivals } = await serve((app) => {
      app.get('/session', coalesce(), async (req, res) => {
        const run = ++runs;
        await release.opened;
        res.cookie('sid', `s${run}`).send('hello');
      });
    });
    const pending = Array.from({ length: 5 }, () => get('/session'));
    while (arrivals.arrived < 5) await sleep(5);
    release.open();
    const responses = await Promise.all(pending);
    expect(runs).toBe(5);
    expect(new Set(responses.map((r) => r.headers['set-cookie'][0])).size).toBe(5);
  });

  test('private, no-store, streamed (server-sent events) and over-maxBytes responses are not shared', async () => {
    const release = gate();
    const runs = { private: 0, stream: 0, big: 0 };
    const { get, arrivals } = await serve((app) => {
      app.get('/private', coalesce(), async (req, res) => {
        runs.private++;
        await release.opened;
        res.set('Cache-Control', 'private, max-age=60').send('mine');
      });
      app.get('/events', coalesce(), async (req, res) => {
        runs.stream++;
        await release.opened;
        res.set('Content-Type', 'text/event-stream');
        res.write('data: one\n\n');
        res.end('data: two\n\n');
      });
      app.get('/big', coalesce({ maxBytes: 1000 }), async (req, res) => {
        runs.big++;
        await release.opened;
        res.send('x'.repeat(5000));
      });
    });
    const pending = ['/private', '/events', '/big'].flatMap((path) => [get(path), get(path), get(path)]);
    while (arrivals.arrived < 9) await sleep(5);
    release.open();
    const responses = await Promise.all(pending);
    expect(runs).toEqual({ private: 3, stream: 3, big: 3 });
    expect(responses.slice(3, 6).every((r) => r.body.toString() === 'data: one\n\ndata: two\n\n')).toBe(true);
    expect(responses.slice(6).every((r) => r.body.length === 5000)).toBe(true);
  });

  test('a failing handler: its error reaches the error path of the leader and of every follower', async () => {
    for (const [path, fail] of [
      [
        '/throws',
        () => {
          throw Object.assign(new Error('db down'), { status: 502 });
        },
      ],
      ['/next', (req, res, next) => next(Object.assign(new Error('db down'), { status: 502 }))],
    ]) {
      const release = gate();
      let runs = 0;
      const { get, arrivals, errors } = await serve((app) => {
        app.get(path, coalesce(), async (req, res, next) => {
          runs++;
          await release.opened;
          return fail(req, res, next);
        });
      });
      const pending = Array.from({ length: 10 }, () => get(path));
      while (arrivals.arrived < 10) await sleep(5);
      release.open();
      const responses = await Promise.all(pending);
      expect(runs).toBe(1);
      expect(errors).toHaveLength(10);
      expect(errors.every((e) => e.message === 'db down')).toBe(true);
      expect(responses.every((r) => r.status === 502)).toBe(true);
    }
  });

  test('HEAD is coalesced on its own key and answered without a body', async () => {
    const release = gate();
    let runs = 0;
    const { get, arrivals } = await serve((app) => {
      app.get('/h', coalesce(), async (req, res) => {
        runs++;
        await release.opened;
        res.send('body');
      });
    });
    const pending = Array.from({ length: 4 }, () => get('/h', { method: 'HEAD' }));
    while (arrivals.arrived < 4) await sleep(5);
    release.open();
    const responses = await Promise.all(pending);
    expect(runs).toBe(1);
    expect(responses.every((r) => r.status === 200 && r.body.length === 0 && r.headers['content-length'] === '4')).toBe(
      true,
    );
  });

  test("a client that disconnects leaves; when every client is gone the leader's signal aborts", async () => {
    const release = gate();
    let signal;
    let runs = 0;
    const { get, arrivals } = await serve((app) => {
      app.get('/slow', coalesce(), async (req, res) => {
        runs++;
        signal = res.locals.threadflight.signal;
        await release.opened;
        if (!res.writableEnded) res.send('late');
      });
    });
    const controllers = Array.from({ length: 3 }, () => new AbortController());
    const pending = controllers.map((c) => get('/slow', { signal: c.signal }).catch((e) => e.name));
    while (arrivals.arrived < 3) await sleep(5);
    controllers[1].abort();
    await sleep(50);
    expect(signal.aborted).toBe(false);
    controllers[0].abort();
    controllers[2].abort();
    const waited = Date.now();
    while (!signal.aborted && Date.now() - waited < 5000) await sleep(10);
    expect(signal.aborted).toBe(true);
    release.open();
    expect(await Promise.all(pending)).toEqual(['AbortError', 'AbortError', 'AbortError']);
    expect(runs).toBe(1);
  });

  test('maxSubscribers: the overflow gets 503 with Retry-After; maxDuration: followers get 504', async () => {
    const release = gate();
    const { get, arrivals, errors } = await serve((app) => {
      app.get('/few', coalesce({ maxSubscribers: 2 }), async (req, res) => {
        await release.opened;
        res.send('ok');
      });
      app.get('/stuck', coalesce({ maxDuration: 100 }), async (req, res) => {
        await release.opened;
        if (!res.headersSent) res.send('late');
      });
    });
    const few = Array.from({ length: 3 }, () => get('/few'));
    while (arrivals.arrived < 3) await sleep(5);
    const stuck = [get('/stuck'), get('/stuck')];
    while (arrivals.arrived < 5) await sleep(5);
    await sleep(250);
    release.open();
    const [a, b, c] = await Promise.all(few);
    expect([a.status, b.status, c.status].sort()).toEqual([200, 200, 503]);
    expect([a, b, c].find((r) => r.status === 503).headers['retry-after']).toBe('1');
    const [leader, follower] = await Promise.all(stuck);
    expect(follower.status).toBe(504);
    expect(leader.status).toBe(200); // the leader's own handler still answers it
    expect(errors.some((e) => e instanceof TooManySubscribersError)).toBe(true);
    expect(errors.some((e) => e instanceof FlightTimeoutError)).toBe(true);
  });

  test('cache: { ttl } answers later identical requests from the shared response until the ttl', async () => {
    let runs = 0;
    const { get } = await serve((app) => {
      app.get('/cached', coalesce({ cache: { ttl: 150 } }), (req, res) => {
        runs++;
        res.send(`run ${runs}`);
      });
    });
    expect((await get('/cached')).body.toString()).toBe('run 1');
    expect((await get('/cached')).body.toString()).toBe('run 1');
    await sleep(200);
    expect((await get('/cached')).body.toString()).toBe('run 2');
  });

  test("with app.use(), responses are shared alike and a failing leader's rendered error reaches its followers", async () => {
    const release = gate();
    let runs = 0;
    const { get, arrivals, errors } = await serve((app) => {
      app.use('/u', coalesce());
      app.get('/u/:id', async (req, res, next) => {
        runs++;
        await release.opened;
        if (req.params.id === 'bad') next(Object.assign(new Error('bad id'), { status: 404 }));
        else res.json({ id: req.params.id });
      });
    });
    const pending = [
      ...Array.from({ length: 3 }, () => get('/u/1')),
      ...Array.from({ length: 3 }, () => get('/u/bad')),
    ];
    while (arrivals.arrived < 6) await sleep(5);
    release.open();
    const responses = await Promise.all(pending);
    expect(runs).toBe(2);
    expect(responses.slice(0, 3).every((r) => r.status === 200 && r.body.toString() === '{"id":"1"}')).toBe(true);
    expect(responses.slice(3).every((r) => r.status === 404 && JSON.parse(r.body).error === 'bad id')).toBe(true);
    expect(errors).toHaveLength(1); // the leader's; its followers got the response it rendered
  });

  test('other methods pass through untouched; a key function that throws reaches the error path', async () => {
    let posts = 0;
    const { get, errors } = await serve((app) => {
      app.post('/p', coalesce(), (req, res) => {
        posts++;
        res.send('posted');
      });
      app.get(
        '/k',
        coalesce({
          key: () => {
            throw new Error('no key');
          },
        }),
        (req, res) => res.send('never'),
      );
    });
    await Promise.all([get('/p', { method: 'POST' }), get('/p', { method: 'POST' })]);
    expect(posts).toBe(2);
    expect((await get('/k')).status).toBe(500);
    expect(errors[0].message).toBe('no key');
  });
});

test('bad options are a TypeError or RangeError naming the option', () => {
  expect(() => coalesce({ methods: 'GET' })).toThrow(/"methods" must be an array/);
  expect(() => coalesce({ key: 'k' })).toThrow(/"key" must be a function/);
  expect(() => coalesce({ maxBytes: -1 })).toThrow(RangeError);
  expect(() => coalesce({ cache: {} })).toThrow(/"cache" must be an object with a ttl/);
  expect(() => coalesce({ unknown: 1 })).toThrow(/Unknown coalesce\(\) option "unknown"/);
  expect(() => coalesce({ maxDuration: -5 })).toThrow(/maxDuration/);
  expect(() => coalesce({ distributed: {} })).toThrow(/"distributed" must be a coordinator/);
});
