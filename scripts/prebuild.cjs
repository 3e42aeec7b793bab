'use strict';
// Builds this machine's prebuild into prebuilds/<platform>-<arch>/ (npm run prebuild): the
// addon compiled for shipping (THREADFLIGHT_PORTABLE: the C++ runtime linked in, stripped).
// The release workflow (.github/workflows/prebuilds.yml) runs it on every platform of the matrix.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { currentTarget, describeTarget, prebuildPath } = require('../lib/locate-addon.cjs');

const PACKAGE_ROOT = path.join(__dirname, '..');
const OUT = 'build-prebuild';

const cmakeJs = path.join(path.dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const build = spawnSync(
  process.execPath,
  [cmakeJs, 'compile', '--out', OUT, '--CDTHREADFLIGHT_PORTABLE=ON', '--target', 'threadflight'],
  { cwd: PACKAGE_ROOT, stdio: 'inherit' },
);
if (build.status !== 0) {
  console.error('prebuild: the build failed');
  process.exit(1);
}

const built = path.join(PACKAGE_ROOT, OUT, 'Release', 'threadflight.node');
const destination = prebuildPath();
fs.mkdirSync(path.dirname(destination), { recursive: true });
fs.copyFileSync(built, destination);
const size = fs.statSync(destination).size;
console.log(
  `prebuild: ${describeTarget(currentTarget())} → ${path.relative(PACKAGE_ROOT, destination)} (${size} bytes)`,
);
