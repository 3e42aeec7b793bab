// The published shape: `npm pack`, install the tarball into an empty project (which compiles
// the addon from source), then use it through require() and import.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

test('the packed tarball installs into an empty project and works with require and import', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'threadflight-pack-'));
  try {
    const run = (cmd, args, cwd) =>
      execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });
    // --ignore-scripts: dist/ is already built; rebuilding it here could race other test files.
    const packed = JSON.parse(run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], root));
    const tarball = path.join(dir, packed[0].filename);
    const files = packed[0].files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['index.d.ts', 'dist/index.js', 'lib/index.mjs', 'CMakeLists.txt']));
    expect(files.some((f) => f.startsWith('test/') || f.startsWith('build/'))).toBe(false);

    const app = path.join(dir, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], app);

    const cjs = run(
      process.execPath,
      [
        '-e',
        `
      const { Singleflight } = require('threadflight');
      const sf = new Singleflight();
      Promise.all([sf.execute('k', async () => ({ v: 1 })), sf.execute('k', async () => ({ v: 2 }))])
        .then(([a, b]) => console.log(a === b && a.v === 1 ? 'cjs ok' : 'cjs wrong'));`,
      ],
      app,
    );
    expect(cjs.trim()).toBe('cjs ok');

    const esm = run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
      import { Singleflight, FlightTimeoutError } from 'threadflight';
      const sf = new Singleflight({ maxDuration: 20 });
      const e = await sf.execute('k', () => new Promise(() => {})).catch((err) => err);
      console.log(e instanceof FlightTimeoutError ? 'esm ok' : 'esm wrong');`,
      ],
      app,
    );
    expect(esm.trim()).toBe('esm ok');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);
