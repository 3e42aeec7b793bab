// The lowest Node.js the package supports installs its development dependencies without an
// EBADENGINE warning: every locked package's engines range admits it.
const path = require('node:path');
const semver = require('semver');

const root = path.join(__dirname, '..', '..');
const manifest = require(path.join(root, 'package.json'));
const lock = require(path.join(root, 'package-lock.json'));

test('every locked package admits the lowest supported Node.js', () => {
  const lowest = semver.minVersion(manifest.engines.node).version;
  const refusing = Object.entries(lock.packages)
    .filter(([, entry]) => entry.engines?.node && !semver.satisfies(lowest, entry.engines.node))
    .map(([name, entry]) => `${name} wants ${entry.engines.node}`);
  expect(refusing).toEqual([]);
});
