// The examples run as a reader would run them, and say what the README says they say.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');

test('examples/express: 50 concurrent requests make one query and get one body', () => {
  const output = execFileSync(process.execPath, [path.join(root, 'examples', 'express', 'server.js')], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(output).toMatch(
    /^50 concurrent requests, 1 query, 1 distinct body: \{"id":"42","name":"Product 42","price":9\.99\}$/m,
  );
});

const runExample = (...parts) =>
  execFileSync(process.execPath, [path.join(root, 'examples', ...parts)], { encoding: 'utf8', timeout: 30_000 });

test('examples/observability/opentelemetry: a span per call, child of its request, with the role and the error', () => {
  expect(runExample('observability', 'opentelemetry.js').trim().split('\n')).toEqual([
    'threadflight users role=leader parent=request 1: GET /users/1 status=OK',
    'threadflight users role=follower parent=request 2: GET /users/1 status=OK',
    'threadflight users role=follower parent=request 3: GET /users/1 status=OK',
    'threadflight users role=leader parent=request 4: GET /users/2 status=ERROR (database is down)',
  ]);
});

test('examples/observability/pino: a line per call answered, a warning with the error for a failed one', () => {
  const lines = runExample('observability', 'pino.js')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  expect(lines).toEqual([
    expect.objectContaining({ level: 20, singleflight: 'users', role: 'leader', thread: 0, key: 'user:1' }),
    expect.objectContaining({ level: 20, singleflight: 'users', role: 'follower', thread: 0, key: 'user:1' }),
    expect.objectContaining({
      level: 40,
      role: 'leader',
      key: 'user:2',
      err: expect.objectContaining({ type: 'Error', message: 'database is down' }),
    }),
  ]);
  expect(lines[0].ms).toBeGreaterThanOrEqual(15); // the load took 20 ms
});
