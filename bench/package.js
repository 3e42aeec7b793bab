// npm run bench:package — what users download: the packed tarball (as `npm pack` makes it, with
// the prebuilds present in prebuilds/) and each prebuild's size, raw and compressed.
// Saves bench/results/package.json with --json.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { machine } = require('./common');

const root = path.join(__dirname, '..');
const args = process.argv.slice(2);
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root });
// --ignore-scripts: prepack would empty dist/, just compiled.
const [packed] = JSON.parse(
  execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' }),
);
const prebuilds = packed.files
  .filter((file) => file.path.startsWith('prebuilds/'))
  .map((file) => {
    const bytes = fs.readFileSync(path.join(root, file.path));
    return { file: file.path, bytes: bytes.length, gzipBytes: zlib.gzipSync(bytes, { level: 9 }).length };
  });
const results = {
  machine: machine(),
  tarball: { bytes: packed.size, unpackedBytes: packed.unpackedSize, files: packed.entryCount },
  prebuilds,
};
console.log(
  `tarball ${(packed.size / 1000).toFixed(0)} kB (${packed.entryCount} files, ${(packed.unpackedSize / 1000).toFixed(0)} kB unpacked); ` +
    prebuilds
      .map((p) => `${p.file} ${(p.bytes / 1000).toFixed(0)} kB, ${(p.gzipBytes / 1000).toFixed(0)} kB compressed`)
      .join('; '),
);
if (jsonOut) {
  fs.writeFileSync(jsonOut, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`saved ${jsonOut}`);
}
