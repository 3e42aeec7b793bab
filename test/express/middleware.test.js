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

describe.each(Object.entries(EXPRESS))('%s: what an adversarial review found', (_, expressPath) => {
  const express = require(expressPath);
  const zlib = require('node:zlib');
  const compression = require('compression');

  async function serve(build) {
    const app = express();
    const arrivals = gate();
    app.use((req, res, next) => {
      arrivals.arrive();
      next();
    });
    build(app);
    app.use((err, req, res, next) => {
      if (res.headersSent) return next(err);
      res.status(err.status ?? 500).send(err.message);
    });
    const server = await listen(app);
    servers.push(server);
    const get = (path, options = {}) => request(server.port, path, { agent: server.agent, ...options });
    return { get, arrivals };
  }

  /** Fires `requests` at once (each [path, options]); the handler answers when all arrived. */
  async function burst(build, requests) {
    const release = gate();
    const runs = { count: 0 };
    const { get, arrivals } = await serve((app) => build(app, runs, release.opened));
    const pending = requests.map(([path, options]) => get(path, options));
    while (arrivals.arrived < requests.length) await sleep(5);
    release.open();
    return { responses: await Promise.all(pending), runs: runs.count };
  }

  test('compression() before coalesce(): every client gets a body its encoding describes', async () => {
    const text = 'x'.repeat(5000);
    const { responses, runs } = await burst(
      (app, runs, opened) => {
        app.use(compression({ threshold: 0 }));
        app.get('/big', coalesce(), async (req, res) => {
          runs.count++;
          await opened;
          res.send(text);
        });
      },
      [
        ['/big', { headers: { 'accept-encoding': 'gzip' } }],
        ['/big', { headers: { 'accept-encoding': 'gzip' } }],
        ['/big', { headers: { 'accept-encoding': 'gzip' } }],
        ['/big', { headers: { 'accept-encoding': 'identity' } }],
      ],
    );
    expect(runs).toBe(2); // one per Accept-Encoding
    for (const r of responses) {
      const body = r.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(r.body) : r.body;
      expect(body.toString()).toBe(text);
    }
    expect(responses.slice(0, 3).every((r) => r.headers['content-encoding'] === 'gzip')).toBe(true);
  });

  test("paths are keyed as sent: dot segments and encodings never merge two routes' requests", async () => {
    const { responses, runs } = await burst(
      (app, runs, opened) => {
        app.get(/^\/files\/.*/, coalesce(), async (req, res) => {
          runs.count++;
          await opened;
          res.send(req.path);
        });
      },
      [['/files/a/../b'], ['/files/a/%2e%2e/b'], ['/files/b'], ['/files/a%5Cb']],
    );
    expect(runs).toBe(4);
    expect(responses.map((r) => r.body.toString())).toEqual([
      '/files/a/../b',
      '/files/a/%2e%2e/b',
      '/files/b',
      '/files/a%5Cb',
    ]);
  });

  test('the Host (and forwarded host) is part of the key: tenants never share a page', async () => {
    const { responses, runs } = await burst(
      (app, runs, opened) => {
        app.get('/home', coalesce(), async (req, res) => {
          runs.count++;
          await opened;
          res.send(`home of ${req.get('host')} via ${req.get('x-forwarded-host') ?? '-'}`);
        });
      },
      [
        ['/home', { headers: { host: 'a.example' } }],
        ['/home', { headers: { host: 'b.example' } }],
        ['/home', { headers: { host: 'a.example', 'x-forwarded-host': 'evil.example' } }],
        ['/home', { headers: { host: 'a.example' } }],
      ],
    );
    expect(runs).toBe(3);
    expect(responses.map((r) => r.body.toString())).toEqual([
      'home of a.example via -',
      'home of b.example via -',
      'home of a.example via evil.example',
      'home of a.example via -',
    ]);
  });

  test('a response that varies on a header outside the key is not shared; Origin is keyed', async () => {
    const { responses, runs } = await burst(
      (app, runs, opened) => {
        app.get('/tenant', coalesce(), async (req, res) => {
          runs.count++;
          await opened;
          res.vary('X-Tenant').send(`for ${req.get('x-tenant')}`);
        });
        app.get('/cors', coalesce(), async (req, res) => {
          runs.count++;
          await opened;
          res.vary('Origin').set('Access-Control-Allow-Origin', req.get('origin')).send('ok');
        });
      },
      [
        ['/tenant', { headers: { 'x-tenant': 'a' } }],
        ['/tenant', { headers: { 'x-tenant': 'b' } }],
        ['/cors', { headers: { origin: 'https://a.example' } }],
        ['/cors', { headers: { origin: 'https://b.example' } }],
        ['/cors', { headers: { origin: 'https://a.example' } }],
      ],
    );
    expect(responses.slice(0, 2).map((r) => r.body.toString())).toEqual(['for a', 'for b']);
    expect(responses.slice(2).map((r) => r.headers['access-control-allow-origin'])).toEqual([
      'https://a.example',
      'https://b.example',
      'https://a.example',
    ]);
    expect(runs).toBe(4); // both tenants, and one per origin
  });

  test('app.all() and a middleware met twice on one request neither deadlock nor join their own flight', async () => {
    const twice = coalesce();
    const { responses, runs } = await burst(
      (app, runs, opened) => {
        app.all('/any', coalesce({ maxDuration: 2000 }), async (req, res) => {
          runs.count++;
          await opened;
          res.send('any');
        });
        app.use('/twice', twice);
        app.get('/twice/x', twice, async (req, res) => {
          runs.count++;
          await opened;
          res.send('twice');
        });
      },
      [['/any'], ['/any'], ['/twice/x'], ['/twice/x']],
    );
    expect(responses.map((r) => `${r.status} ${r.body}`)).toEqual(['200 any', '200 any', '200 twice', '200 twice']);
    expect(runs).toBe(2);
  });

  test('writeHead with a flat header array: its headers count (private is not shared) and are replayed', async () => {
    const { responses, runs } = await burst(
      (app, runs, opened) => {
        app.get('/private', coalesce(), async (req, res) => {
          runs.count++;
          await opened;
          res.writeHead(200, ['Cache-Control', 'private', 'Content-Type', 'text/plain']);
          res.end('mine');
        });
        app.get('/public', coalesce(), async (req, res) => {
          runs.count++;
          await opened;
          res.writeHead(200, 'OK Shared', ['X-Kind', 'public', 'Content-Type', 'text/plain']);
          res.end('ours');
        });
      },
      [['/private'], ['/private'], ['/public'], ['/public']],
    );
    expect(runs).toBe(3);
    expect(responses.slice(2).every((r) => r.headers['x-kind'] === 'public' && r.body.toString() === 'ours')).toBe(
      true,
    );
  });

  test("the leader's client disconnecting does not make the followers run the handler", async () => {
    const release = gate();
    let runs = 0;
    const { get, arrivals } = await serve((app) => {
      app.get('/slow', coalesce(), async (req, res) => {
        runs++;
        await release.opened;
        res.send('done');
      });
    });
    const controller = new AbortController();
    const leader = get('/slow', { signal: controller.signal }).catch((e) => e.name);
    while (arrivals.arrived < 1) await sleep(5);
    const followers = [get('/slow'), get('/slow')];
    while (arrivals.arrived < 3) await sleep(5);
    controller.abort();
    await sleep(50);
    release.open();
    expect(await leader).toBe('AbortError');
    expect((await Promise.all(followers)).map((r) => r.body.toString())).toEqual(['done', 'done']);
    expect(runs).toBe(1);
  });

  test('res.locals.threadflight is there for every request behind coalesce(), coalesced or not', async () => {
    const seen = [];
    const { get } = await serve((app) => {
      app.get('/s', coalesce(), (req, res) => {
        seen.push(res.locals.threadflight.signal instanceof AbortSignal);
        res.cookie('a', '1').send('x');
      });
    });
    await Promise.all([get('/s'), get('/s', { headers: { cookie: 'sid=1' } })]);
    expect(seen).toEqual([true, true]);
  });

  test('cache: a 5xx answer reaches the requests waiting for it but is not kept for later ones', async () => {
    let runs = 0;
    const { get } = await serve((app) => {
      app.get('/flaky', coalesce({ cache: { ttl: '10s' } }), (req, res) => {
        runs++;
        if (runs === 1) res.status(503).send('down');
        else res.send('up');
      });
    });
    expect((await get('/flaky')).status).toBe(503);
    expect((await get('/flaky')).body.toString()).toBe('up');
    expect((await get('/flaky')).body.toString()).toBe('up');
    expect(runs).toBe(2);
  });

  test('next(false) and next(0) go on to the next handler, as in Express', async () => {
    const { responses, runs } = await burst(
      (app, runs, opened) => {
        app.get(
          '/n',
          coalesce(),
          async (req, res, next) => {
            runs.count++;
            await opened;
            next(false);
          },
          (req, res) => res.send('second'),
        );
      },
      [['/n'], ['/n'], ['/n']],
    );
    expect(responses.map((r) => r.body.toString())).toEqual(['second', 'second', 'second']);
    expect(runs).toBe(1);
  });

  test('query strings are keyed raw: byte-different values never share', async () => {
    const { runs } = await burst(
      (app, runs, opened) => {
        app.get('/q', coalesce(), async (req, res) => {
          runs.count++;
          await opened;
          res.send(String(req.query.q));
        });
      },
      [['/q?q=%FF'], ['/q?q=%EF%BF%BD'], ['/q?q=%FF']],
    );
    expect(runs).toBe(2);
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
