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
