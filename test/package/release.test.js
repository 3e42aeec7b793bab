// The release: the workflow builds exactly the platforms the pre-publish check requires, and
// that check refuses to publish while any prebuild is missing.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const yaml = require('js-yaml');
const { RELEASE_MATRIX } = require('../../scripts/check-prebuilds.cjs');
const { describeTarget, prebuildPath } = require('../../lib/locate-addon.cjs');

const root = path.join(__dirname, '..', '..');

test('the workflow builds every platform the pre-publish check requires, and no other', () => {
  const workflow = yaml.load(fs.readFileSync(path.join(root, '.github', 'workflows', 'prebuilds.yml'), 'utf8'));
  const built = workflow.jobs.build.strategy.matrix.include.map((entry) => entry.target).sort();
  const required = RELEASE_MATRIX.map(({ dir, libc }) => (libc ? `${dir}-${libc}` : dir)).sort();
  expect(built).toEqual(required);
  expect(workflow.jobs.publish.needs).toBe('build');
});

test('prepublishOnly refuses to publish while prebuilds are missing, naming them', () => {
  const manifest = require(path.join(root, 'package.json'));
  expect(manifest.scripts.prepublishOnly).toBe('node scripts/check-prebuilds.cjs');
  const run = spawnSync(process.execPath, [path.join(root, 'scripts', 'check-prebuilds.cjs')], { encoding: 'utf8' });
  const missing = RELEASE_MATRIX.filter((target) => !fs.existsSync(prebuildPath(target)));
  expect(missing.length).toBeGreaterThan(0); // this machine builds one platform only
  expect(run.status).toBe(1);
  for (const target of missing) expect(run.stderr).toContain(describeTarget(target));
});
