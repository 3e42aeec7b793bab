/** Jest runs the compiled package (dist/ + build/), exactly what users load. */
module.exports = {
  testEnvironment: 'node',
  testMatch: [
    '<rootDir>/test/unit/**/*.test.js',
    '<rootDir>/test/threads/**/*.test.js',
    '<rootDir>/test/property/**/*.test.js',
    '<rootDir>/test/faults/**/*.test.js',
  ],
  testTimeout: 30000,
};
