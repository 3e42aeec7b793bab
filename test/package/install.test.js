// Installing the packed tarball as users do, on a machine with no build tools: the prebuild is
// used (scripts or no scripts), a compile happens only when asked for or when no prebuild loads,
// and when nothing fits, the loader and the install say what was tried and what to do.
const fs = require('node:fs');
const path = require('node:path');
const { npm, pathWithoutCompilers, run, emptyApp, installTarball, checkApp } = require('./helpers');

const PREBUILD = path.join('node_modules', 'threadflight', 'prebuilds', 'linux-x64', 'threadflight.glibc.node');
const LOCAL_BUILD = path.join('node_modules', 'threadflight', 'build', 'Release', 'threadflight.node');
const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64' ? describe : describe.skip;

/** The app's check passed: one run, seen by both threads, through one module for require and import. */
function expectWorking(result) {
  expect(result.stderr).toBe('');
  expect(result.report).toMatchObject({ sameModule: true, runs: 1, inMain: 'main', inWorker: 'main' });
}

onLinuxX64('on a PATH without cmake, c++ or g++', () => {
  let noCompilers;
  beforeAll(() => {
    noCompilers = { PATH: pathWithoutCompilers() };
  });

  test('the PATH really has none of them', () => {
    for (const tool of ['cmake', 'c++', 'g++', 'gcc', 'cc', 'clang++', 'make']) {
      expect(run('sh', ['-c', `command -v ${tool}`], { env: noCompilers }).status).not.toBe(0);
    }
    expect(run('sh', ['-c', 'command -v node && command -v npm'], { env: noCompilers }).status).toBe(0);
  });

  test('npm install uses the prebuild: require, import and a flight shared with a worker work', () => {
    const app = emptyApp('no-compiler');
    const install = installTarball(app, { env: noCompilers });
    expect(install.status).toBe(0);
    expect(install.output).toContain('threadflight: using the prebuilt addon for linux-x64 (glibc)');
    expect(fs.existsSync(path.join(app, LOCAL_BUILD))).toBe(false);

    const checked = checkApp(app, { env: noCompilers });
    expectWorking(checked);
    expect(checked.report.addon).toEqual([fs.realpathSync(path.join(app, PREBUILD))]);

    // The same app on every other Node.js the CI run provides (THREADFLIGHT_TEST_NODES).
    for (const node of (process.env.THREADFLIGHT_TEST_NODES ?? '').split(path.delimiter).filter(Boolean)) {
      const other = checkApp(app, { node, env: noCompilers });
      expectWorking(other);
      expect(other.report.node).not.toBe(process.version);
    }
  });

  test('npm install --ignore-scripts: the loader finds the prebuild all the same', () => {
    const app = emptyApp('ignore-scripts');
    const install = installTarball(app, { flags: ['--ignore-scripts'], env: noCompilers });
    expect(install.status).toBe(0);
    expect(install.output).not.toContain('threadflight:');
    expectWorking(checkApp(app, { env: noCompilers }));
  });

  describe('when no binary fits', () => {
    let app;
    beforeAll(() => {
      app = emptyApp('no-fit');
      expect(installTarball(app, { flags: ['--ignore-scripts'], env: noCompilers }).status).toBe(0);
    });

    test('require throws one error naming the platform, every place tried, and the fix', () => {
      const otherArch = path.join(__dirname, 'fixtures', 'other-arch.cjs');
      const result = run(
        process.execPath,
        [
          '--require',
          otherArch,
          '-e',
          `try { require('threadflight'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`,
        ],
        { cwd: app, env: noCompilers },
      );
      const error = JSON.parse(result.stdout);
      expect(error.code).toBe('ERR_ADDON_UNAVAILABLE');
      expect(error.message).toContain('no compiled addon for linux-riscv64 (glibc) loads in Node.js');
      expect(error.message).toContain('local build build/Release/threadflight.node: not built');
      expect(error.message).toContain(
        'prebuild prebuilds/linux-riscv64/threadflight.glibc.node: this package has no prebuild for this platform (it has linux-x64 (glibc))',
      );
      expect(error.message).toContain('`npm rebuild threadflight`');
      expect(error.message).toContain('CMake');
    });

    test('binaries that do not load are reported with the reason', () => {
      const broken = fs.mkdtempSync(path.join(process.env.THREADFLIGHT_PACK_DIR, 'broken-'));
      fs.cpSync(app, broken, { recursive: true });
      fs.writeFileSync(path.join(broken, PREBUILD), 'not a shared object\n'.repeat(256));
      fs.mkdirSync(path.dirname(path.join(broken, LOCAL_BUILD)), { recursive: true });
      fs.writeFileSync(path.join(broken, LOCAL_BUILD), '');
      const result = run(
        process.execPath,
        ['-e', `try { require('threadflight'); } catch (e) { console.log(JSON.stringify({ message: e.message })); }`],
        { cwd: broken, env: noCompilers },
      );
      const { message } = JSON.parse(result.stdout);
      expect(message).toMatch(/local build build\/Release\/threadflight\.node: does not load: .*(file too short)/);
      expect(message).toMatch(
        /prebuild prebuilds\/linux-x64\/threadflight\.glibc\.node: does not load: .*invalid ELF header/,
      );
    });

    test('npm rebuild without a prebuild or a compiler fails, saying what it needs', () => {
      const bare = fs.mkdtempSync(path.join(process.env.THREADFLIGHT_PACK_DIR, 'bare-'));
      fs.cpSync(app, bare, { recursive: true });
      fs.rmSync(path.join(bare, 'node_modules', 'threadflight', 'prebuilds'), { recursive: true });
      const rebuild = run(npm, ['rebuild', '--foreground-scripts', 'threadflight'], { cwd: bare, env: noCompilers });
      expect(rebuild.status).not.toBe(0);
      expect(rebuild.output).toContain('threadflight: no usable prebuild for linux-x64 (glibc)');
      expect(rebuild.output).toContain('It needs CMake 3.15+ and a C++20 compiler');
    });
  });
});

onLinuxX64('with build tools', () => {
  test('npm_config_build_from_source=true compiles, and the compiled addon is the one loaded', () => {
    const app = emptyApp('from-source');
    const install = installTarball(app, { env: { npm_config_build_from_source: 'true' } });
    expect(install.status).toBe(0);
    expect(install.output).toContain(
      'threadflight: compiling the addon for linux-x64 (glibc) (npm_config_build_from_source)',
    );
    const checked = checkApp(app);
    expectWorking(checked);
    expect(checked.report.addon).toEqual([fs.realpathSync(path.join(app, LOCAL_BUILD))]);
  });

  test('a prebuild that does not load makes the install compile', () => {
    const app = emptyApp('broken-prebuild');
    expect(installTarball(app, { flags: ['--ignore-scripts'] }).status).toBe(0);
    fs.writeFileSync(path.join(app, PREBUILD), 'not a shared object\n'.repeat(256));
    const rebuild = run(npm, ['rebuild', '--foreground-scripts', 'threadflight'], { cwd: app });
    expect(rebuild.status).toBe(0);
    expect(rebuild.output).toMatch(
      /no usable prebuild for linux-x64 \(glibc\) \(it does not load: .*invalid ELF header\); compiling/,
    );
    const checked = checkApp(app);
    expectWorking(checked);
    expect(checked.report.addon).toEqual([fs.realpathSync(path.join(app, LOCAL_BUILD))]);
  });
});
