// What the tarball carries, how large it is, and what its Linux prebuild asks of the C library:
// each checked against the README, which states them.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { packed } = require('./helpers');

const root = path.join(__dirname, '..', '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

describe('the packed tarball', () => {
  let files;
  beforeAll(() => {
    files = packed().files.map((file) => file.path);
  });

  test('carries the code, its types, the prebuild, the sources to compile, and the papers', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'CHANGELOG.md',
        'index.d.ts',
        'index.d.mts',
        'redis.d.ts',
        'dist/redis/index.js',
        'express.d.ts',
        'dist/express/index.js',
        'dist/cache/flight-cache.js',
        'dist/index.js',
        'lib/index.mjs',
        'lib/locate-addon.cjs',
        'lib/http-policy.cjs',
        'scripts/install.cjs',
        'CMakeLists.txt',
        'src/core/flight_table.cc',
        'src/binding/addon.cc',
        'dist/adonis/index.mjs',
        'dist/adonis/index.d.mts',
        'dist/adonis/provider.mjs',
        'dist/adonis/services/main.mjs',
        'dist/adonis/middleware.mjs',
        'stubs/adonis/config.stub',
      ]),
    );
    if (process.platform === 'linux' && process.arch === 'x64') {
      expect(files).toContain('prebuilds/linux-x64/threadflight.glibc.node');
    }
  });

  test('carries nothing else: no tests, benchmarks, examples, build trees or stray files', () => {
    const shipped =
      /^(package\.json|README\.md|LICENSE|CHANGELOG\.md|index\.d\.m?ts|(redis|express|prometheus)\.d\.ts|CMakeLists\.txt|lib\/index\.mjs|lib\/locate-addon\.cjs|lib\/http-policy\.cjs|scripts\/install\.cjs|dist\/((redis|cache|express|prometheus)\/)?[\w-]+\.js|dist\/adonis\/(services\/)?\w+\.(mjs|d\.mts)|stubs\/adonis\/\w+\.stub|src\/(core|binding)\/[\w]+\.(cc|h)|prebuilds\/[\w-]+\/threadflight(\.\w+)?\.node)$/;
    expect(files.filter((file) => !shipped.test(file))).toEqual([]);
  });

  test('dist/ is exactly the compiled lib/: no module left over from an older layout', () => {
    const lib = fs
      .readdirSync(path.join(root, 'lib'), { recursive: true })
      .map((file) => file.split(path.sep).join('/'));
    const mts = lib.filter((file) => file.endsWith('.mts'));
    const sources = lib
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && file !== 'public-types-check.ts')
      .map((file) => `dist/${file.replace(/\.ts$/, '.js')}`)
      // lib/adonis/*.mts: ES modules and their declarations (lib/adonis/tsconfig.json).
      .concat(
        mts.flatMap((file) => [`dist/${file.replace(/\.mts$/, '.mjs')}`, `dist/${file.replace(/\.mts$/, '.d.mts')}`]),
      );
    expect(files.filter((file) => file.startsWith('dist/')).sort()).toEqual(sources.sort());
  });

  test('is the size the README states, within a quarter', () => {
    const stated = /packed tarball is about (\d+) kB/.exec(readme);
    expect(stated).not.toBeNull();
    const kB = packed().size / 1000;
    expect(kB).toBeGreaterThan(Number(stated[1]) * 0.75);
    expect(kB).toBeLessThan(Number(stated[1]) * 1.25);
  });
});

const objdump = (() => {
  try {
    execFileSync('objdump', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

(process.platform === 'linux' && process.arch === 'x64' && objdump ? test : test.skip)(
  'the linux-x64 prebuild asks for no newer glibc than the README states, and for no C++ runtime',
  () => {
    const floor = /glibc (\d+)\.(\d+) or newer/.exec(readme);
    expect(floor).not.toBeNull();
    const prebuild = path.join(root, 'prebuilds', 'linux-x64', 'threadflight.glibc.node');
    const symbols = execFileSync('objdump', ['-T', prebuild], { encoding: 'utf8' });
    const versions = [...symbols.matchAll(/\bGLIBC_(\d+)\.(\d+)/g)].map(([, major, minor]) => [+major, +minor]);
    expect(versions.length).toBeGreaterThan(0);
    const newest = versions.reduce((a, b) => (a[0] !== b[0] ? (a[0] > b[0] ? a : b) : a[1] >= b[1] ? a : b));
    expect(newest).toEqual([Number(floor[1]), Number(floor[2])]);
    expect(symbols).not.toMatch(/GLIBCXX_|CXXABI_/);
    const needed = execFileSync('objdump', ['-p', prebuild], { encoding: 'utf8' });
    expect(needed).not.toContain('libstdc++');
  },
);
