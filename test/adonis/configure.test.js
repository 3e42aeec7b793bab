// `node ace configure threadflight/adonis` on a scaffolded app (fixtures/configure.mjs), on
// AdonisJS 6 and 7: the provider and the named middleware are registered, and the config file
// written from the stub type-checks against the package's types and loads.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { VERSIONS, runFixture } = require('./helpers');

const root = path.join(__dirname, '..', '..');

/** node_modules for the scaffold: 'threadflight' and '@adonisjs/core' as the version's app sees them. */
function linkModules(version, scaffold) {
  const modules = path.join(scaffold, 'node_modules');
  if (version.name === 'AdonisJS 6') {
    fs.mkdirSync(modules);
    fs.symlinkSync(root, path.join(modules, 'threadflight'), 'dir');
  } else {
    fs.symlinkSync(path.join(__dirname, 'v7-app', 'node_modules'), modules, 'dir');
  }
}

function typeCheck(scaffold) {
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
    },
    files: ['config/threadflight.ts'],
  };
  fs.writeFileSync(path.join(scaffold, 'tsconfig.check.json'), JSON.stringify(tsconfig));
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.check.json'], {
    cwd: scaffold,
    encoding: 'utf8',
  });
}

describe.each(VERSIONS.map((version) => [version.name, version]))('%s: configure', (_name, version) => {
  let scaffold;
  let result;
  beforeAll(() => {
    scaffold = fs.mkdtempSync(path.join(process.env.THREADFLIGHT_ADONIS_TMP ?? os.tmpdir(), 'threadflight-configure-'));
    result = runFixture(version, 'configure.mjs', [scaffold]);
  });
  afterAll(() => fs.rmSync(scaffold, { recursive: true, force: true }));

  const read = (file) => fs.readFileSync(path.join(scaffold, file), 'utf8');

  test('succeeds, saying what it did', () => {
    expect(result.error).toBeNull();
    expect(result.exitCode).toBe(0);
    expect(result.logs.join('\n')).toMatch(/create\s+config\/threadflight\.ts/);
  });

  test('registers the provider in adonisrc.ts', () => {
    expect(read('adonisrc.ts')).toContain(`() => import('threadflight/adonis/provider')`);
  });

  test('registers the coalesce named middleware in start/kernel.ts', () => {
    expect(read('start/kernel.ts')).toMatch(
      /router\.named\(\{\s*coalesce: \(\) => import\('threadflight\/adonis\/middleware'\)/,
    );
  });

  test('writes config/threadflight.ts, which type-checks against the package types and loads', () => {
    const config = read('config/threadflight.ts');
    expect(config).toContain(`import { defineConfig } from 'threadflight/adonis'`);
    linkModules(version, scaffold);
    typeCheck(scaffold);
    // Loaded as the app would: the default export is defineConfig()'s result.
    const loaded = execFileSync(
      version.node,
      ['--input-type=module', '-e', loadScript(path.join(scaffold, 'config', 'threadflight.ts'))],
      { cwd: scaffold, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
    );
    expect(JSON.parse(loaded)).toEqual({
      default: 'main',
      instances: { main: { name: 'app', maxDuration: 30000 } },
      caches: { main: { name: 'app-cache', ttl: '5m', grace: '1h' } },
    });
  });
});

/** A script printing the config module's default export as JSON. Node.js 20 cannot load .ts: a JS copy. */
function loadScript(file) {
  const js = file.replace(/\.ts$/, '.mjs');
  fs.copyFileSync(file, js);
  return `const { default: config } = await import(${JSON.stringify(require('node:url').pathToFileURL(js).href)}); console.log(JSON.stringify(config));`;
}
