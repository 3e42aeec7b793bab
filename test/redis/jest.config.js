/** The Redis suite: real redis-server and member processes (npm run test:redis). */
module.exports = {
  rootDir: '../..',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/redis/**/*.test.js'],
  maxWorkers: 1,
  testTimeout: 60_000,
};
