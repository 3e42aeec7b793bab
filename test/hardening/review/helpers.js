// Shared by the review reproductions: the hardening suite's bounded waits and child processes.
const path = require('node:path');
const { ROOT, runScenario } = require('../helpers');
// The promise's outcome, or { status: 'hung' } after `ms`: the harness's own.
const { settle } = require('../fixtures/harness');

/** Runs `node [nodeArgs] test/hardening/review/fixtures/<file> [...args]` with a hard timeout. */
function runFixture(file, args = [], options = {}) {
  return runScenario(path.join('..', 'review', 'fixtures', file), args, options);
}

module.exports = { ROOT, settle, runFixture };
