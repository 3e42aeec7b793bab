// Two installed copies of the package in one process (nested node_modules, monorepos): each has
// its own addon and tables. The library cannot share them safely, so it says so, once, with a
// ThreadflightWarning; loading the same copy again (a purged require cache) is not a second copy.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');

/** A second installed copy of the package, as npm would lay it out elsewhere. */
function secondCopy() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'threadflight-copy-'));
  const copy = path.join(dir, 'node_modules', 'threadflight');
  fs.mkdirSync(path.join(copy, 'build', 'Release'), { recursive: true });
  fs.cpSync(path.join(ROOT, 'dist'), path.join(copy, 'dist'), { recursive: true });
  fs.mkdirSync(path.join(copy, 'lib'));
  fs.copyFileSync(path.join(ROOT, 'lib', 'locate-addon.cjs'), path.join(copy, 'lib', 'locate-addon.cjs'));
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(copy, 'package.json'));
  fs.copyFileSync(
    path.join(ROOT, 'build', 'Release', 'threadflight.node'),
    path.join(copy, 'build', 'Release', 'threadflight.node'),
  );
  return { dir, copy };
}

function run(script) {
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 15_000 });
  expect({ status: child.status, signal: child.signal }).toEqual({ status: 0, signal: null });
  return JSON.parse(child.stdout.trim().split('\n').pop());
}

const collect = `
  const warnings = [];
  process.on('warning', (w) => warnings.push(w.code));
`;

test('a second installed copy is warned of once, and shares no named table with the first', () => {
  const { dir, copy } = secondCopy();
  try {
    const result = run(`${collect}
      const a = require(${JSON.stringify(ROOT)});
      const b = require(${JSON.stringify(copy)});
      const third = require(${JSON.stringify(copy)});
      (async () => {
        let runs = 0;
        const work = () => new Promise((resolve) => setTimeout(() => resolve(++runs), 50));
        const [x, y] = await Promise.all([
          new a.Singleflight({ name: 'dup' }).execute('k', work),
          new b.Singleflight({ name: 'dup' }).execute('k', work),
        ]);
        await new Promise((resolve) => setImmediate(resolve));
        console.log(JSON.stringify({ warnings, runs, same: third === b, values: [x, y].sort() }));
      })();
    `);
    expect(result.warnings).toEqual(['THREADFLIGHT_DUPLICATE']);
    expect(result.runs).toBe(2); // each copy ran its own work: the documented limit
    expect(result.values).toEqual([1, 2]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the same copy loaded again (a purged require cache) is not warned of', () => {
  const result = run(`${collect}
    const first = require(${JSON.stringify(ROOT)});
    for (const key of Object.keys(require.cache)) delete require.cache[key];
    const again = require(${JSON.stringify(ROOT)});
    setImmediate(() => console.log(JSON.stringify({ warnings, fresh: first !== again })));
  `);
  expect(result).toEqual({ warnings: [], fresh: true });
});
