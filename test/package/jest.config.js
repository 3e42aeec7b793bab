/**
 * The package as users get it: packed, installed into empty apps, loaded. Slow (npm installs,
 * compiles), so a suite of its own (npm run test:package), one file at a time.
 */
module.exports = {
  rootDir: '../..',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/package/**/*.test.js'],
  globalSetup: '<rootDir>/test/package/pack.js',
  globalTeardown: '<rootDir>/test/package/cleanup.js',
  maxWorkers: 1,
  testTimeout: 300_000,
};
