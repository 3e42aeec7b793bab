// Apps that install the packed tarball, and the commands they run.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const tarball = () => process.env.THREADFLIGHT_TARBALL;
const packed = () => JSON.parse(fs.readFileSync(path.join(process.env.THREADFLIGHT_PACK_DIR, 'packed.json'), 'utf8'));

const COMPILERS = /^(cmake|c\+\+|g\+\+|gcc|cc|clang|clang\+\+|make|ninja)(-[\d.]+)?$|-(c\+\+|g\+\+|gcc)(-[\d.]+)?$/;

/**
 * A PATH with every command of this one except the build tools (CMake, make, ninja, C and C++
 * compilers), as on a machine where none is installed: a directory of links to the rest.
 */
function pathWithoutCompilers() {
  const dir = path.join(process.env.THREADFLIGHT_PACK_DIR, 'bin-without-compilers');
  if (fs.existsSync(dir)) return dir;
  fs.mkdirSync(dir);
  const dirs = [path.dirname(process.execPath), ...process.env.PATH.split(path.delimiter)];
  for (const from of dirs) {
    let names;
    try {
      names = fs.readdirSync(from);
    } catch {
      continue;
    }
    for (const name of names) {
      const link = path.join(dir, name);
      if (COMPILERS.test(name) || fs.existsSync(link)) continue;
      fs.symlinkSync(path.join(from, name), link);
    }
  }
  return dir;
}

/** Runs a command; returns { status, stdout, stderr, output } without throwing. */
function run(command, args, { cwd, env = {}, timeout = 240_000 } = {}) {
  const result = spawnSync(command, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout });
  return { ...result, output: `${result.stdout}\n${result.stderr}` };
}

/** An empty app in a fresh directory; returns its path. */
function emptyApp(name) {
  const app = fs.mkdtempSync(path.join(process.env.THREADFLIGHT_PACK_DIR, `${name}-`));
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  fs.copyFileSync(path.join(__dirname, 'fixtures', 'check-app.mjs'), path.join(app, 'check-app.mjs'));
  return app;
}

/** npm install of the tarball into `app`, with the extra npm flags and environment given. */
function installTarball(app, { flags = [], env = {} } = {}) {
  // --foreground-scripts: the install script's lines are part of the output checked.
  return run(npm, ['install', '--no-audit', '--no-fund', '--foreground-scripts', ...flags, tarball()], {
    cwd: app,
    env,
  });
}

/** Runs the app's check (require, import, a flight shared with a worker) with `node`. */
function checkApp(app, { node = process.execPath, nodeArgs = [], env = {} } = {}) {
  const result = run(node, [...nodeArgs, 'check-app.mjs'], { cwd: app, env });
  if (result.status !== 0) return { ...result, report: undefined };
  return { ...result, report: JSON.parse(result.stdout.trim().split('\n').pop()) };
}

module.exports = { npm, tarball, packed, pathWithoutCompilers, run, emptyApp, installTarball, checkApp };
