/** Jest runs the compiled package (dist/ + build/), exactly what users load. */
module.exports = {
  testEnvironment: 'node',
  testMatch: [
    '<rootDir>/test/unit/**/*.test.js',
    '<rootDir>/test/threads/**/*.test.js',
    '<rootDir>/test/cache/**/*.test.js',
    '<rootDir>/test/express/**/*.test.js',
    '<rootDir>/test/prometheus/**/*.test.js',
    '<rootDir>/test/property/**/*.test.js',
    '<rootDir>/test/faults/**/*.test.js',
    '<rootDir>/test/hardening/**/*.test.js',
    '<rootDir>/test/docs/**/*.test.js',
  ],
  testTimeout: 30000,
};
