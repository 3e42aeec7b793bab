'use strict';
// Where the compiled addon for this machine is, and loading it. Plain CommonJS, not compiled:
// the install script (scripts/install.cjs) runs it before anything is built.
//
// Two places are tried, in this order:
// - a local build, build/Release/threadflight.node: it exists only when the install compiled
//   (no prebuild fitted, or npm_config_build_from_source asked for it) or a developer built,
//   so it was made on purpose and wins;
// - the prebuild shipped in the package, prebuilds/<platform>-<arch>/threadflight[.<libc>].node.

const fs = require('node:fs');
const path = require('node:path');

const PACKAGE_ROOT = path.join(__dirname, '..');
const PREBUILDS = path.join(PACKAGE_ROOT, 'prebuilds');
const LOCAL_BUILD = path.join(PACKAGE_ROOT, 'build', 'Release', 'threadflight.node');

let libc;

/** What a Linux machine's C library is: 'glibc' or 'musl' (the two ABIs prebuilds are made for). */
function linuxLibc() {
  libc ??= probeLibc();
  return libc;
}

function probeLibc() {
  try {
    // ldd is a script naming its C library: the cheapest reliable probe (detect-libc's first too).
    const ldd = fs.readFileSync('/usr/bin/ldd', 'latin1');
    if (ldd.includes('musl')) return 'musl';
    if (ldd.includes('GNU C Library') || ldd.includes('GLIBC')) return 'glibc';
  } catch {
    // no ldd (distroless images): ask the running Node.js
  }
  if (process.report) process.report.excludeNetwork = true; // the report's slow part, not needed
  const header = process.report?.getReport().header;
  return header && 'glibcVersionRuntime' in header ? 'glibc' : 'musl';
}

/** This machine as prebuilds are named: { dir: 'linux-x64', libc: 'glibc' | 'musl' | undefined }. */
function currentTarget() {
  const libc = process.platform === 'linux' ? linuxLibc() : undefined;
  return { dir: `${process.platform}-${process.arch}`, libc };
}

function describeTarget(target) {
  return target.libc ? `${target.dir} (${target.libc})` : target.dir;
}

/** The prebuild's file name for a target: threadflight.glibc.node on Linux, threadflight.node elsewhere. */
function prebuildPath(target = currentTarget()) {
  return path.join(PREBUILDS, target.dir, target.libc ? `threadflight.${target.libc}.node` : 'threadflight.node');
}

/** The prebuilds this copy of the package carries, e.g. ['linux-x64 (glibc)', 'win32-x64']. */
function shippedPrebuilds() {
  let dirs;
  try {
    dirs = fs.readdirSync(PREBUILDS);
  } catch {
    return [];
  }
  return dirs
    .filter((dir) => fs.statSync(path.join(PREBUILDS, dir)).isDirectory())
    .flatMap((dir) =>
      fs
        .readdirSync(path.join(PREBUILDS, dir))
        .map((file) => /^threadflight(?:\.(\w+))?\.node$/.exec(file))
        .filter(Boolean)
        .map((match) => describeTarget({ dir, libc: match[1] })),
    );
}

/** The places tried, in order. */
function candidates() {
  return [
    { source: 'local build', file: LOCAL_BUILD },
    { source: 'prebuild', file: prebuildPath() },
  ];
}

/**
 * Loads the first candidate that exists, loads, and is accepted: `refuse(addon)` returns why an
 * addon cannot be used (a stale build), or undefined. Throws one Error with code
 * ERR_ADDON_UNAVAILABLE naming the platform, every place tried, and the fix.
 * @returns {{ addon: unknown, file: string }}
 */
function loadAddon(refuse = () => undefined) {
  const tried = [];
  for (const { source, file } of candidates()) {
    const shown = `${source} ${path.relative(PACKAGE_ROOT, file)}`;
    if (!fs.existsSync(file)) {
      tried.push(`${shown}: ${source === 'prebuild' ? notShipped() : 'not built'}`);
      continue;
    }
    let addon;
    try {
      addon = require(file);
    } catch (error) {
      tried.push(`${shown}: does not load: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    const refusal = refuse(addon);
    if (refusal === undefined) return { addon, file };
    tried.push(`${shown}: ${refusal}`);
  }
  throw unavailable(tried);
}

function notShipped() {
  const shipped = shippedPrebuilds();
  return `this package has no prebuild for this platform (it has ${shipped.length ? shipped.join(', ') : 'none'})`;
}

function unavailable(tried) {
  const error = new Error(
    `threadflight: no compiled addon for ${describeTarget(currentTarget())} loads in Node.js ` +
      `${process.version} (package at ${PACKAGE_ROOT}). Tried:\n` +
      tried.map((line) => `  - ${line}\n`).join('') +
      'Fix: compile it with `npm rebuild threadflight`, which needs CMake 3.15+ and a C++20 compiler ' +
      '(g++ 10+ or clang 12+; Visual Studio 2022 on Windows). ' +
      'An install with --ignore-scripts never compiles.',
  );
  error.code = 'ERR_ADDON_UNAVAILABLE';
  return error;
}

module.exports = {
  currentTarget,
  describeTarget,
  prebuildPath,
  shippedPrebuilds,
  loadAddon,
  LOCAL_BUILD,
  PACKAGE_ROOT,
};
