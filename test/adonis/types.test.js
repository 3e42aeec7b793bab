// types/usage.mts type-checks (strict, nodenext) against AdonisJS 6's types and AdonisJS 7's:
// each @ts-expect-error in it must meet an error, so wrong usage is refused too.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { VERSIONS } = require('./helpers');

const tsc = require.resolve('typescript/bin/tsc');

test.each(VERSIONS.map((version) => [version.name, version]))('%s: types/usage.mts type-checks', (_name, version) => {
  let project = path.join(__dirname, 'types');
  if (version.name !== 'AdonisJS 6') {
    // Beside the v7 app's node_modules (the fixtures' copy), as an ES module package.
    project = path.join(version.dir(), 'types');
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ type: 'module' }));
  }
  const result = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
  expect({ status: result.status, errors: result.stdout }).toEqual({ status: 0, errors: '' });
});
