/**
 * The AdonisJS suite (npm run test:adonis): real AdonisJS apps in child processes, AdonisJS 6 on
 * this Node.js (root devDependencies) and AdonisJS 7 on Node.js 24 (test/adonis/v7-app, installed
 * by the global setup).
 */
module.exports = {
  rootDir: '../..',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/adonis/**/*.test.js'],
  globalSetup: '<rootDir>/test/adonis/setup.js',
  globalTeardown: '<rootDir>/test/adonis/teardown.js',
  testTimeout: 60_000,
};
