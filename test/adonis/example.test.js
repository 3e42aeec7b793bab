// examples/adonis/server.mjs runs (--self-test) and says what its routes did, on AdonisJS 6 and 7.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { VERSIONS } = require('./helpers');

const example = path.join(__dirname, '..', '..', 'examples', 'adonis', 'server.mjs');

test.each(VERSIONS.map((version) => [version.name, version]))(
  '%s: examples/adonis/server.mjs --self-test',
  (_name, version) => {
    // AdonisJS 7's copy sits beside the fixtures, whose node_modules are the v7 app's.
    const script = version.name === 'AdonisJS 6' ? example : path.join(version.dir(), 'example-server.mjs');
    if (script !== example) fs.copyFileSync(example, script);
    const result = spawnSync(version.node, [script, '--self-test'], {
      encoding: 'utf8',
      env: { ...process.env, PORT: '0' },
      timeout: 30_000,
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('50 concurrent GET /reports/7: handler ran 1 time(s), 1 distinct body');
    expect(result.stdout).toContain('50 concurrent GET /prices/abc: 1 lookup(s), cents 1999');
  },
);
