'use strict';
// Builds this machine's prebuild into prebuilds/<platform>-<arch>/ (npm run build:prebuild): the
// addon compiled for shipping (THREADFLIGHT_PORTABLE: the C++ runtime linked in, stripped).
// The release workflow (.github/workflows/prebuilds.yml) runs it on every platform of the matrix.

const fs = require('node:fs');
const path = require('node:path');
const { currentTarget, describeTarget, prebuildPath, PACKAGE_ROOT } = require('../lib/locate-addon.cjs');
const { compile } = require('./install.cjs');

const OUT = 'build-prebuild';

if (!compile(['--out', OUT, '--CDTHREADFLIGHT_PORTABLE=ON', '--target', 'threadflight'])) {
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
