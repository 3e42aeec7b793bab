// The TypeScript blocks of the README's AdonisJS section (marked <!-- readme-test: adonis -->)
// type-check against AdonisJS 6 and this package's types, in an app laid out as AdonisJS apps
// are (ES module package, #start/kernel).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const sources = ['README.md'];

function adonisBlocks(file) {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  const blocks = [];
  const pattern = /<!--\s*readme-test:\s*adonis\s*-->\s*\n```ts\n([\s\S]*?)\n```/g;
  for (let match; (match = pattern.exec(text));) {
    blocks.push({ where: `${file}:${text.slice(0, match.index).split('\n').length}`, code: match[1] });
  }
  return blocks;
}

const blocks = sources.flatMap(adonisBlocks);

function appWith(code) {
  const dir = fs.mkdtempSync(
    path.join(process.env.THREADFLIGHT_ADONIS_TMP ?? os.tmpdir(), 'threadflight-readme-adonis-'),
  );
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(root, path.join(dir, 'node_modules', 'threadflight'), 'dir');
  fs.symlinkSync(path.join(root, 'node_modules', '@adonisjs'), path.join(dir, 'node_modules', '@adonisjs'), 'dir');
  const pkg = { type: 'module', imports: { '#start/*': './start/*.js' } };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg));
  fs.mkdirSync(path.join(dir, 'start'));
  fs.writeFileSync(
    path.join(dir, 'start', 'kernel.ts'),
    `import router from '@adonisjs/core/services/router';\n` +
      `export const middleware = router.named({ coalesce: () => import('threadflight/adonis/middleware') });\n`,
  );
  fs.writeFileSync(path.join(dir, 'block.ts'), code);
  const compilerOptions = {
    target: 'ES2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    typeRoots: [],
  };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['block.ts'] }));
  return dir;
}

test('the section has its blocks', () => {
  expect(blocks.length).toBeGreaterThanOrEqual(3);
});

test.each(blocks.map((block) => [block.where, block]))('%s type-checks', (_where, block) => {
  const dir = appWith(block.code);
  try {
    const result = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', dir], {
      encoding: 'utf8',
    });
    expect({ status: result.status, errors: result.stdout }).toEqual({ status: 0, errors: '' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
