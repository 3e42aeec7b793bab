'use strict';
// Before publishing (prepublishOnly): the package must carry a prebuild for every platform of the
// release matrix (.github/workflows/prebuilds.yml), or users there would need a compiler.

const fs = require('node:fs');
const { prebuildPath, describeTarget } = require('../lib/locate-addon.cjs');

const RELEASE_MATRIX = [
  { dir: 'linux-x64', libc: 'glibc' },
  { dir: 'linux-x64', libc: 'musl' },
  { dir: 'linux-arm64', libc: 'glibc' },
  { dir: 'linux-arm64', libc: 'musl' },
  { dir: 'darwin-x64', libc: undefined },
  { dir: 'darwin-arm64', libc: undefined },
  { dir: 'win32-x64', libc: undefined },
];

function main() {
  const missing = RELEASE_MATRIX.filter((target) => !fs.existsSync(prebuildPath(target)));
  if (missing.length > 0) {
    console.error(
      `threadflight: not publishing, prebuilds are missing for ${missing.map(describeTarget).join(', ')}. ` +
        'The release workflow collects them into prebuilds/ before it publishes.',
    );
    return 1;
  }
  console.log(`threadflight: prebuilds present for all ${RELEASE_MATRIX.length} platforms`);
  return 0;
}

// The workflow's matrix is checked against this list by test/package/release.test.js.
module.exports = { RELEASE_MATRIX };
if (require.main === module) process.exitCode = main();
