// Shared by the review reproductions: bounded waits and child processes.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..', '..');

// The promise's outcome, or { status: 'hung' } after `ms`: the harness's own.
const { settle } = require('../fixtures/harness');

/** Runs `node [nodeArgs] test/hardening/review/fixtures/<file> [...args]` with a hard timeout. */
function runFixture(file, args = [], { timeout = 15_000, nodeArgs = [] } = {}) {
  const started = Date.now();
  const child = spawnSync(process.execPath, [...nodeArgs, path.join(__dirname, 'fixtures', file), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout,
    killSignal: 'SIGKILL',
  });
  return {
    status: child.status,
    signal: child.signal,
    timedOut: child.error?.code === 'ETIMEDOUT',
    stdout: child.stdout ?? '',
    stderr: child.stderr ?? '',
    elapsedMs: Date.now() - started,
  };
}

module.exports = { ROOT, settle, runFixture };
