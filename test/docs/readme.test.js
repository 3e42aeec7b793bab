/**
 * Every fenced code block of README.md is run (or checked) here, so none can rot.
 *
 * How a block is classified:
 *   - A marker on the line above its fence (blank lines between are allowed) names its context,
 *     a key of CONTEXTS below:      <!-- readme-test: express-users -->
 *   - Without a marker, the language decides: sh / bash / shell => 'npm-commands',
 *     ts / typescript => 'typescript'. A js block always needs a marker (it must say what the
 *     snippet may take for granted).
 *   - Anything else fails, saying how to mark it: nobody can add an untested block.
 *
 * Express blocks run in a child process (a crash is then a failed test, not a dead Jest) on
 * Express 4 and on Express 5, listening on an ephemeral port; what a snippet uses without
 * defining it (`app`, `db`, `reports`, `REPORTS_API`) comes from its context's `prelude`, shown
 * below as written. The test then drives the routes over HTTP.
 */
const { fork, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const readmePath = path.join(root, 'README.md');
const pkg = require('../../package.json');

const EXPRESS = {
  'Express 4': require.resolve('express'),
  'Express 5': require.resolve('express5'), // devDependency "express5": "npm:express@^5"
};

const JS = ['js', 'javascript'];

// --- the contexts a block can run in ---------------------------------------------------------

const CONTEXTS = {
  // The first README snippet: `users.execute(…, () => db.query(…))` in an Express route.
  'express-users': {
    langs: JS,
    express: true,
    prelude: `
      const app = harness.express();      // Express 4 or 5: the block runs on both
      app.use(harness.reportRequests);    // tells the test when each request reached the app
      const db = {                        // each query waits until the test resolves or rejects it
        query: (sql, params) => harness.call('db.query', { sql, params }),
      };`,
    exercise: exerciseUsers,
  },
  // The cancellation snippet: `reports.execute(…, (signal) => fetch(REPORTS_API …), { signal })`.
  'express-reports': {
    langs: JS,
    express: true,
    prelude: `
      const app = harness.express();      // Express 4 or 5: the block runs on both
      app.use(harness.reportRequests);    // tells the test when each request reached the app
      const { Singleflight } = require('threadflight');
      const reports = new Singleflight();
      const REPORTS_API = harness.upstream; // an HTTP server run by the test; it answers as the test chooses`,
    exercise: exerciseReports,
  },
  // The middleware snippet: `app.get('/products/:id', coalesce(…), handler)` querying `db`.
  'express-coalesce': {
    langs: JS,
    express: true,
    prelude: `
      const app = harness.express();      // Express 4 or 5: the block runs on both
      app.use(harness.reportRequests);    // tells the test when each request reached the app
      const db = {                        // each query waits until the test resolves or rejects it
        query: (sql, params) => harness.call('db.query', { sql, params }),
      };`,
    exercise: exerciseProducts,
  },
  // A standalone module (`require` => .cjs, `import` => .mjs): it must run, and the names it
  // takes from 'threadflight' must be the package's exports.
  module: { langs: JS, run: runModule },
  // An excerpt of a file under examples/ (which test/docs/examples.test.js runs): it must
  // appear in one of them, verbatim.
  excerpt: { langs: JS, run: checkExcerpt },
  // Shell commands: `npm install threadflight`, `npm ci`, `npm test`, `npm run <script>`.
  'npm-commands': { langs: ['sh', 'bash', 'shell', 'console'], run: checkNpmCommands },
  // TypeScript: type-checked (strict) against index.d.ts.
  typescript: { langs: ['ts', 'typescript'], run: typeCheck },
  // A directory tree: every path it names exists (a bare name after a directory: inside it).
  layout: { langs: ['', 'text'], run: checkLayout },
  // The AdonisJS section's TypeScript: type-checked in an AdonisJS app layout, against
  // AdonisJS 6, by test/adonis/readme.test.js (npm run test:adonis), where AdonisJS is set up.
  adonis: { langs: ['ts'], run: () => {} },
};

const DEFAULT_CONTEXT = {
  sh: 'npm-commands',
  bash: 'npm-commands',
  shell: 'npm-commands',
  ts: 'typescript',
  typescript: 'typescript',
};

// --- reading the README ----------------------------------------------------------------------

const MARKER = /^<!--\s*readme-test:\s*([\w-]+)\s*-->$/;

function parseReadme(text) {
  const lines = text.split('\n');
  const blocks = [];
  const problems = [];
  let pendingMarker = null; // { context, line }
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (/^<!--\s*readme-test/.test(line)) {
      const m = MARKER.exec(line);
      if (!m) problems.push(`README.md:${i + 1}: malformed marker ${line} (write <!-- readme-test: CONTEXT -->)`);
      else if (pendingMarker) problems.push(`README.md:${pendingMarker.line}: marker not followed by a code block`);
      pendingMarker = m ? { context: m[1], line: i + 1 } : null;
      continue;
    }
    const open = /^(`{3,}|~{3,})\s*([^\s`]*)/.exec(line);
    if (open) {
      const fence = open[1];
      const start = i;
      const code = [];
      for (
        i++;
        i < lines.length && !(lines[i].trim().startsWith(fence) && lines[i].trim().replace(/[`~]/g, '') === '');
        i++
      ) {
        code.push(lines[i]);
      }
      blocks.push({
        line: start + 1,
        lang: open[2].toLowerCase(),
        code: code.join('\n') + '\n',
        marker: pendingMarker,
      });
      pendingMarker = null;
      continue;
    }
    if (line !== '' && pendingMarker) {
      problems.push(`README.md:${pendingMarker.line}: marker not followed by a code block`);
      pendingMarker = null;
    }
  }
  if (pendingMarker) problems.push(`README.md:${pendingMarker.line}: marker not followed by a code block`);
  return { blocks, problems };
}

/** The context name of a block, or an Error explaining how to mark it. */
function classify(block) {
  const where = `README.md:${block.line}: a \`\`\`${block.lang} block`;
  const howTo =
    `Put <!-- readme-test: CONTEXT --> on the line above its fence, CONTEXT one of: ${Object.keys(CONTEXTS).join(', ')} ` +
    `(see CONTEXTS in test/docs/readme.test.js; add a context there if none fits).`;
  const name = block.marker ? block.marker.context : DEFAULT_CONTEXT[block.lang];
  if (!name) return new Error(`${where} has no readme-test marker, so no test runs it. ${howTo}`);
  const context = CONTEXTS[name];
  if (!context) return new Error(`${where} is marked with an unknown context '${name}'. ${howTo}`);
  if (!context.langs.includes(block.lang)) {
    return new Error(
      `${where} is marked '${name}', which takes ${context.langs.map((l) => l || '(no language)').join(' / ')} blocks. ${howTo}`,
    );
  }
  return name;
}

// --- the tests -------------------------------------------------------------------------------

const { blocks, problems } = parseReadme(fs.readFileSync(readmePath, 'utf8'));
let tmp;

beforeAll(() => {
  // A stand-in for a user's project: node_modules/threadflight is this package.
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'threadflight-readme-'));
  fs.mkdirSync(path.join(tmp, 'node_modules'));
  fs.symlinkSync(root, path.join(tmp, 'node_modules', 'threadflight'), 'dir');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('README.md code blocks', () => {
  test('the README has code blocks, and every readme-test marker belongs to one', () => {
    expect(blocks.length).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });

  for (const block of blocks) {
    const name = classify(block);
    const title = `README.md:${block.line} \`\`\`${block.lang}`;
    if (name instanceof Error) {
      test(`${title} (unclassified)`, () => {
        throw name;
      });
      continue;
    }
    const context = CONTEXTS[name];
    if (context.express) {
      for (const [version, expressPath] of Object.entries(EXPRESS)) {
        test(`${title} [${name}] on ${version}`, () => runExpress(block, context, expressPath));
      }
    } else {
      test(`${title} [${name}]`, () => context.run(block));
    }
  }
});

describe('harness self-check', () => {
  test('an unmarked js block, or one marked with an unknown context, fails and says how to mark it', () => {
    const [unmarked, unknown] = parseReadme('```js\nx()\n```\n<!-- readme-test: nope -->\n```js\ny()\n```\n').blocks;
    expect(classify(unmarked).message).toMatch(/no readme-test marker.*<!-- readme-test: CONTEXT -->.*express-users/);
    expect(classify(unknown).message).toMatch(/unknown context 'nope'/);
    expect(parseReadme('<!-- readme-test: module -->\ntext\n').problems).toHaveLength(1);
  });

  test('a ts block is type-checked against index.d.ts', () => {
    const ok =
      "import { Singleflight } from 'threadflight';\nconst n: Promise<number> = new Singleflight().execute('k', async () => 1);\n";
    expect(() => typeCheck({ line: 0, code: ok })).not.toThrow();
    expect(() => typeCheck({ line: 0, code: ok.replace('Promise<number>', 'Promise<string>') })).toThrow(/TS2322/);
  }, 120_000);

  test('an excerpt is checked against the files under examples/', () => {
    expect(() =>
      checkExcerpt({ line: 0, code: "const { coalesce } = require('threadflight/express');\n" }),
    ).not.toThrow();
    expect(() => checkExcerpt({ line: 0, code: 'console.log("in no example");' })).toThrow(/in no file under examples/);
  });

  test('a module block that mixes require() and import is refused', () => {
    const code = "const { Singleflight } = require('threadflight');\nimport { Singleflight } from 'threadflight';\n";
    expect(() => runModule({ line: 0, code })).toThrow(/split it/);
  });
});

// --- module, npm-commands, typescript, layout ------------------------------------------------

const IMPORT_LINE = /^\s*import\s[^(]/m;

function checkExcerpt(block) {
  const files = fs
    .readdirSync(path.join(root, 'examples'), { recursive: true })
    .filter((file) => /\.(c|m)?js$/.test(file) && !file.includes('node_modules'))
    .map((file) => path.join(root, 'examples', file));
  const code = block.code.trim();
  if (!files.some((file) => fs.readFileSync(file, 'utf8').includes(code))) {
    throw new Error(`README.md:${block.line}: the excerpt is in no file under examples/ (copy it from one, verbatim)`);
  }
}

function runModule(block) {
  const esm = IMPORT_LINE.test(block.code);
  if (esm && /\brequire\s*\(/.test(block.code)) {
    throw new Error(
      `README.md:${block.line}: the block mixes require() and import, which no one module can run: split it into a CommonJS block and an ES-module block`,
    );
  }
  // The names the block takes from the package, checked against the package's own exports.
  const names = [];
  const destructured = esm
    ? /import\s*\{([^}]*)\}\s*from\s*['"]threadflight['"]/g
    : /\{([^}]*)\}\s*=\s*require\(\s*['"]threadflight['"]\s*\)/g;
  for (const [, list] of block.code.matchAll(destructured)) {
    for (const item of list
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [exported, local = exported] = item.split(esm ? /\s+as\s+/ : /\s*:\s*/);
      names.push([exported.trim(), local.trim()]);
    }
  }
  const checks = names.map(
    ([e, l]) => `if (${l} !== __pkg.${e}) throw new Error('${l} is not the package export ${e}');`,
  );
  const epilogue = esm
    ? `\nimport * as __pkg from 'threadflight';\n${checks.join('\n')}\n`
    : `\n;{ const __pkg = require('threadflight');\n${checks.join('\n')}\n}\n`;
  const file = path.join(tmp, `readme-L${block.line}.${esm ? 'mjs' : 'cjs'}`);
  fs.writeFileSync(file, block.code + epilogue);
  run(process.execPath, [file], `README.md:${block.line} as ${path.basename(file)}`);
}

function checkNpmCommands(block) {
  const commands = block.code
    .split('\n')
    .map((l) =>
      l
        .replace(/(^|\s)#.*$/, '')
        .replace(/^\$\s+/, '')
        .trim(),
    )
    .filter(Boolean);
  expect(commands.length).toBeGreaterThan(0);
  for (const command of commands) {
    const where = `README.md:${block.line}: \`${command}\``;
    let m;
    if ((m = /^npm (?:install|i|add) ([\w@/.-]+)$/.exec(command))) {
      expect({ where, installs: m[1] }).toEqual({ where, installs: pkg.name });
    } else if ((m = /^npm (?:run(?:-script)?|test|start|stop|restart)\b/.exec(command))) {
      const script = /^npm run(?:-script)? ([\w:.-]+)/.exec(command)?.[1] ?? command.split(' ')[1];
      expect({ where, scriptExists: script in pkg.scripts }).toEqual({ where, scriptExists: true });
    } else if ((m = /^node ace configure ([\w@/.-]+)$/.exec(command))) {
      // AdonisJS imports the package named, which must export configure (threadflight/adonis).
      const subpath = m[1] === pkg.name ? '.' : `.${m[1].slice(pkg.name.length)}`;
      expect({ where, exported: m[1].startsWith(pkg.name) && subpath in pkg.exports }).toEqual({
        where,
        exported: true,
      });
    } else if (command === 'npm ci') {
      expect(fs.existsSync(path.join(root, 'package-lock.json'))).toBe(true);
    } else {
      throw new Error(
        `${where}: the test only knows npm install ${pkg.name}, npm ci, npm test and npm run <script>; ` +
          'teach checkNpmCommands in test/docs/readme.test.js the command, or mark the block with another context',
      );
    }
  }
}

function typeCheck(block) {
  const dir = fs.mkdtempSync(path.join(tmp, 'ts-'));
  fs.writeFileSync(path.join(dir, 'block.ts'), block.code);
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'commonjs',
        moduleResolution: 'node',
        lib: ['ES2022'],
        types: ['node'],
        typeRoots: [path.join(root, 'node_modules', '@types')],
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        // 'threadflight' is this package's index.d.ts
        baseUrl: '.',
        paths: {
          threadflight: [path.join(root, 'index.d.ts')],
          'threadflight/redis': [path.join(root, 'redis.d.ts')],
          'threadflight/express': [path.join(root, 'express.d.ts')],
          'threadflight/prometheus': [path.join(root, 'prometheus.d.ts')],
          'prom-client': [path.join(root, 'node_modules', 'prom-client')],
          ioredis: [path.join(root, 'node_modules', 'ioredis')],
        },
      },
      files: ['block.ts'],
    }),
  );
  run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', dir], `README.md:${block.line} (tsc)`);
}

function checkLayout(block) {
  const missing = [];
  for (const line of block.code.split('\n')) {
    let dir = '';
    for (const raw of line.split(/\s+/)) {
      const token = raw.replace(/^[(]+/, '').replace(/[):,;]+$/, '');
      if (!/^[\w.-]+(\/[\w.-]+)*\/?$/.test(token) || !(token.includes('/') || /\.\w{1,4}$/.test(token))) continue;
      const found = [token, path.join(dir, token)].find((p) => fs.existsSync(path.join(root, p)));
      if (!found) missing.push(token);
      else if (token.endsWith('/')) dir = found;
    }
  }
  expect({ line: block.line, missing }).toEqual({ line: block.line, missing: [] });
}

function run(file, args, what) {
  try {
    execFileSync(file, args, { cwd: tmp, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (err) {
    throw new Error(`${what} failed (exit ${err.status}):\n${err.stdout}${err.stderr}`);
  }
}

// --- Express blocks --------------------------------------------------------------------------

async function runExpress(block, context, expressPath) {
  const upstream = await Upstream.start();
  const esm = IMPORT_LINE.test(block.code);
  const harness =
    `harness = require(${JSON.stringify(path.join(__dirname, 'child-harness.js'))})` +
    `({ express: ${JSON.stringify(expressPath)}, upstream: ${JSON.stringify(upstream.url)} });`;
  const program = [
    esm
      ? `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); const ${harness}`
      : `const ${harness}`,
    `// ---- prelude of '${block.marker.context}' ----`,
    context.prelude.replace(/^ {6}/gm, ''),
    `// ---- README.md:${block.line} ----`,
    block.code,
    'harness.listen(app);',
    '',
  ].join('\n');
  const file = path.join(
    tmp,
    `readme-L${block.line}-${path.basename(path.dirname(expressPath))}.${esm ? 'mjs' : 'cjs'}`,
  );
  fs.writeFileSync(file, program);
  const server = await ServerProcess.start(file, tmp);
  try {
    await context.exercise({ server, upstream });
    await server.ping(); // still up after all of it
  } finally {
    await server.stop();
    await upstream.close();
  }
}

const times = (n, f) => Array.from({ length: n }, (_, i) => f(i));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function expect5xx(response, url) {
  if (!(response.status >= 500 && response.status < 600)) {
    throw new Error(`GET ${url}: expected a 5xx, got ${response.status} ${response.body}`);
  }
}

/** Sends n identical GETs at once; resolves (to their responses' promise) once all n reached the app and its handlers ran. */
async function burst(server, url, n) {
  const before = server.requestCount(url);
  const responses = Promise.all(times(n, () => server.get(url)));
  responses.catch(() => {}); // reported where it is awaited
  await server.until(() => server.requestCount(url) - before === n, `${n} requests for ${url} to reach the app`);
  await server.ping(); // every handler has run up to its first await
  return { responses };
}

/** Opens a GET, waits for it to reach the app and the backend to be called, then hangs up; resolves once the server saw the close. */
async function disconnect(server, url, backendCalled) {
  const client = server.request(url);
  await server.until(() => server.arrived(client.id), `${url} to reach the app`);
  await server.ping(); // its handler has run up to its first await
  await server.until(backendCalled, `the backend to be called for ${url}`);
  client.abort();
  await server.until(() => server.closed(client.id) === false, `the server to see the client of ${url} leave`);
}

async function exerciseUsers({ server }) {
  const row = { id: 123, name: 'Ada' };

  // Concurrent identical requests: one query, every client gets its row.
  let { responses } = await burst(server, '/users/123', 20);
  const [query, ...more] = server.pendingCalls('db.query');
  expect(more).toEqual([]);
  expect(query.info.params).toEqual(['123']);
  server.settle(query, { value: row });
  for (const r of await responses) expect(r).toMatchObject({ status: 200, json: row });

  // A rejecting query: every waiting client gets a 5xx, the process stays up, nothing is cached.
  ({ responses } = await burst(server, '/users/7', 5));
  expect(server.pendingCalls('db.query')).toHaveLength(1);
  server.settle(server.pendingCalls('db.query')[0], { error: 'connection terminated' });
  for (const r of await responses) expect5xx(r, '/users/7');
  await server.ping();
  const retry = server.get('/users/7');
  await server.until(() => server.pendingCalls('db.query').length === 1, 'a new query for /users/7');
  server.settle(server.pendingCalls('db.query')[0], { value: { id: 7 } });
  expect(await retry).toMatchObject({ status: 200, json: { id: 7 } });

  // A client that hangs up while its query runs, the query then resolving or rejecting.
  for (const outcome of [{ value: row }, { error: 'connection terminated' }]) {
    await disconnect(server, '/users/8', () => server.pendingCalls('db.query').length === 1);
    server.settle(server.pendingCalls('db.query')[0], outcome);
    await server.ping();
    await sleep(20);
    await server.ping();
  }
  const after = server.get('/users/8');
  await server.until(() => server.pendingCalls('db.query').length === 1, 'a query for /users/8');
  server.settle(server.pendingCalls('db.query')[0], { value: row });
  expect(await after).toMatchObject({ status: 200, json: row });
}

async function exerciseProducts({ server }) {
  const product = { id: 123, name: 'Lamp' };
  // Concurrent identical requests: one query, every client gets the same bytes.
  let { responses } = await burst(server, '/products/123', 20);
  const [query, ...more] = server.pendingCalls('db.query');
  expect(more).toEqual([]);
  expect(query.info.params).toEqual(['123']);
  server.settle(query, { value: product });
  const answered = await responses;
  for (const r of answered) expect(r).toMatchObject({ status: 200, json: product });
  expect(new Set(answered.map((r) => JSON.stringify(r.json))).size).toBe(1);

  // A rejecting query: every waiting client gets a 5xx through Express's error path (on Express
  // 4 too, where an async handler's rejection would otherwise go unhandled), the process stays up.
  ({ responses } = await burst(server, '/products/7', 5));
  expect(server.pendingCalls('db.query')).toHaveLength(1);
  server.settle(server.pendingCalls('db.query')[0], { error: 'connection terminated' });
  for (const r of await responses) expect5xx(r, '/products/7');
  await server.ping();
}

async function exerciseReports({ server, upstream }) {
  const report = { id: 'q 1', total: 42 };
  const settled = () => upstream.calls.every((c) => c.done);

  // Concurrent identical requests: one upstream call (the id URL-encoded), every client gets its JSON.
  let { responses } = await burst(server, '/reports/q%201', 10);
  await server.until(() => upstream.calls.length === 1, 'the upstream call');
  await sleep(100); // room for a second upstream call, were there one
  expect(upstream.calls.map((c) => c.url)).toEqual(['/reports/q%201']);
  upstream.respond(upstream.calls[0], 200, report);
  for (const r of await responses) expect(r).toMatchObject({ status: 200, json: report });

  // Upstream answers an error status (with a JSON body): every waiting client gets a 5xx.
  ({ responses } = await burst(server, '/reports/q2', 3));
  await server.until(() => upstream.calls.length === 2, 'the upstream call for q2');
  upstream.respond(upstream.calls[1], 503, { error: 'maintenance' });
  for (const r of await responses) expect5xx(r, '/reports/q2');

  // Upstream drops the connection (fetch rejects): a 5xx, the process stays up.
  ({ responses } = await burst(server, '/reports/q3', 2));
  await server.until(() => upstream.calls.length === 3, 'the upstream call for q3');
  upstream.hangUp(upstream.calls[2]);
  for (const r of await responses) expect5xx(r, '/reports/q3');
  await server.ping();
  expect(settled()).toBe(true);

  // One of two clients hangs up: the upstream call goes on, and the other client gets the report.
  const stays = server.get('/reports/q4');
  await server.until(() => server.requestCount('/reports/q4') === 1, 'the first q4 request');
  await disconnect(server, '/reports/q4', () => upstream.calls.length === 4);
  await server.ping();
  await sleep(50);
  expect(upstream.calls[3].aborted).toBe(false);
  upstream.respond(upstream.calls[3], 200, { id: 'q4' });
  expect(await stays).toMatchObject({ status: 200, json: { id: 'q4' } });

  // The only client hangs up: the upstream call is aborted, and the key is free at once.
  await disconnect(server, '/reports/q5', () => upstream.calls.length === 5);
  await server.until(() => upstream.calls[4].aborted, 'the upstream call of the departed client to be aborted');
  const again = server.get('/reports/q5');
  await server.until(() => upstream.calls.length === 6, 'a new upstream call for q5');
  upstream.respond(upstream.calls[5], 200, { id: 'q5' });
  expect(await again).toMatchObject({ status: 200, json: { id: 'q5' } });
}

/** The upstream HTTP API of 'express-reports': records each call and answers when the test says. */
class Upstream {
  static async start() {
    const u = new Upstream();
    u.calls = [];
    u.server = http.createServer((req, res) => {
      const call = { url: req.url, req, res, aborted: false, done: false };
      res.on('close', () => {
        call.done = true;
        if (!res.writableFinished) call.aborted = true;
      });
      u.calls.push(call);
    });
    await new Promise((resolve) => u.server.listen(0, '127.0.0.1', resolve));
    u.url = `http://127.0.0.1:${u.server.address().port}`;
    return u;
  }
  respond(call, status, body) {
    call.res.writeHead(status, { 'content-type': 'application/json' });
    call.res.end(JSON.stringify(body));
  }
  hangUp(call) {
    call.req.socket.destroy();
  }
  close() {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(resolve));
  }
}

/** A README Express program in a child process, seen through its IPC reports and over HTTP. */
class ServerProcess {
  static async start(file, cwd) {
    const s = new ServerProcess();
    s.messages = [];
    s.output = '';
    s.exit = null;
    s.seq = 0;
    s.child = fork(file, [], { cwd, execArgv: [], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    s.child.stdout.on('data', (d) => (s.output += d));
    s.child.stderr.on('data', (d) => (s.output += d));
    s.child.on('message', (m) => s.messages.push(m));
    s.exited = new Promise((resolve) => s.child.on('exit', (code, signal) => resolve((s.exit = { code, signal }))));
    await s.until(() => s.messages.some((m) => m.type === 'listening'), 'the server to listen', 15_000);
    s.port = s.messages.find((m) => m.type === 'listening').port;
    return s;
  }

  died() {
    const { code, signal } = this.exit;
    return new Error(
      `the server process died (exit code ${code}, signal ${signal}): the README snippet crashed it.\n--- its output ---\n${this.output}`,
    );
  }

  /** Polls cond until true; fails at once if the process died, or after ms. */
  async until(cond, what, ms = 5000) {
    const deadline = Date.now() + ms;
    for (;;) {
      if (cond()) return;
      if (this.exit) throw this.died();
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}\n--- server output ---\n${this.output}`);
      await sleep(5);
    }
  }

  /** A round trip over IPC: the server is alive, and has handled everything that came before. */
  async ping() {
    if (this.exit) throw this.died();
    const seq = ++this.seq;
    this.child.send({ cmd: 'ping', seq });
    await this.until(() => this.messages.some((m) => m.type === 'pong' && m.seq === seq), 'a pong');
  }

  requestCount(url) {
    return this.messages.filter((m) => m.type === 'request' && m.url === url).length;
  }
  arrived(id) {
    return this.messages.some((m) => m.type === 'request' && m.id === id);
  }
  /** undefined while open; then whether the response had been sent in full. */
  closed(id) {
    return this.messages.find((m) => m.type === 'closed' && m.id === id)?.finished;
  }
  pendingCalls(kind) {
    return this.messages.filter((m) => m.type === 'call' && m.kind === kind && !m.settled);
  }
  settle(call, outcome) {
    call.settled = true;
    this.child.send({ cmd: 'settle', id: call.id, ...outcome });
  }

  /** A GET with a handle to hang up; its response resolves to { status, body, json }. */
  request(url) {
    const id = String(++this.seq);
    let req;
    const response = new Promise((resolve, reject) => {
      req = http.get(
        { host: '127.0.0.1', port: this.port, path: url, agent: false, headers: { 'x-readme-test': id } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (body += c));
          res.on('end', () => {
            let json;
            try {
              json = JSON.parse(body);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode, body, json });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
    }).catch(async (err) => {
      // A reset connection usually means the process died: say so, with its output.
      await Promise.race([this.exited, sleep(1000)]);
      throw this.exit ? this.died() : new Error(`GET ${url}: ${err.message}`);
    });
    response.catch(() => {}); // reported where it is awaited; a test that failed earlier must not crash Jest with it
    return { id, response, abort: () => req.destroy() };
  }
  get(url) {
    return this.request(url).response;
  }

  async stop() {
    if (!this.exit) this.child.kill();
    await this.exited;
  }
}
