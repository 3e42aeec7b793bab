// Jest globalSetup of the package suite: builds this machine's prebuild and packs the package
// once, as `npm publish` would (prepack/prepare included), into a temporary directory.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

module.exports = function pack() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'threadflight-package-'));
  const run = (args) => execFileSync(npm, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  run(['run', '-s', 'build:prebuild']);
  const [packed] = JSON.parse(run(['pack', '--json', '--pack-destination', dir]));
  process.env.THREADFLIGHT_PACK_DIR = dir;
  process.env.THREADFLIGHT_TARBALL = path.join(dir, packed.filename);
  fs.writeFileSync(path.join(dir, 'packed.json'), JSON.stringify(packed));
};
