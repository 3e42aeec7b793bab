'use strict';
// npm's install step for threadflight: use the prebuilt addon when one fits this machine,
// compile only when none does (or when asked to with npm_config_build_from_source).
// Compiling takes CMake and a C++20 compiler; everything else comes from the npm registry
// (cmake-js, and the Node-API headers of node-api-headers: nothing is downloaded from nodejs.org).

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { currentTarget, describeTarget, prebuildPath, PACKAGE_ROOT } = require('../lib/locate-addon.cjs');

/** 'true' forces a compile (as for prebuild-install and node-gyp-build); so does a list naming threadflight. */
function buildFromSourceRequested() {
  const setting = process.env.npm_config_build_from_source ?? '';
  return setting === 'true' || setting.split(',').includes('threadflight');
}

/** Why the prebuild for this machine cannot be used, or undefined if it loads. */
function prebuildProblem(file) {
  if (!fs.existsSync(file)) return 'the package has none for this platform';
  // Loaded in a child: a binary that crashes on load must not take the install down with it.
  const load = `try { require(${JSON.stringify(file)}) } catch (e) { console.error(e.message); process.exit(1) }`;
  const probe = spawnSync(process.execPath, ['-e', load], { encoding: 'utf8' });
  if (probe.status === 0) return undefined;
  const said = probe.stderr.trim().split('\n')[0];
  return `it does not load: ${said || `exit ${probe.status ?? probe.signal}`}`;
}

/** A git checkout (the TypeScript sources are not in the package): prebuilds there may be older than the sources. */
function isSourceCheckout() {
  return fs.existsSync(path.join(PACKAGE_ROOT, 'lib', 'index.ts'));
}

/** Compiles the addon with cmake-js (`args` after `compile`); whether it succeeded. */
function compile(args = ['--out', 'build']) {
  let cmakeJs;
  try {
    cmakeJs = path.join(path.dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  } catch {
    console.error('threadflight: cmake-js, which compiles the addon, is not installed (npm install cmake-js)');
    return false;
  }
  const run = spawnSync(process.execPath, [cmakeJs, 'compile', ...args], {
    cwd: PACKAGE_ROOT,
    stdio: 'inherit',
  });
  return run.status === 0;
}

function main() {
  const target = describeTarget(currentTarget());
  const checkout = isSourceCheckout();
  if (checkout || buildFromSourceRequested()) {
    const why = checkout ? 'a checkout of the sources' : 'npm_config_build_from_source';
    console.log(`threadflight: compiling the addon for ${target} (${why})`);
  } else {
    const problem = prebuildProblem(prebuildPath());
    if (problem === undefined) {
      // A build left by an earlier install would be loaded first (see locate-addon.cjs).
      fs.rmSync(path.join(PACKAGE_ROOT, 'build'), { recursive: true, force: true });
      console.log(`threadflight: using the prebuilt addon for ${target}`);
      return 0;
    }
    console.log(`threadflight: no usable prebuild for ${target} (${problem}); compiling the addon`);
  }
  if (compile()) return 0;
  console.error(
    `threadflight: compiling the addon for ${target} failed (the output is above). ` +
      'It needs CMake 3.15+ and a C++20 compiler (g++ 10+ or clang 12+; Visual Studio 2022 on Windows). ' +
      'Install them and run `npm rebuild threadflight`.',
  );
  return 1;
}

// scripts/prebuild.cjs compiles through the same function.
module.exports = { compile };
if (require.main === module) process.exitCode = main();
