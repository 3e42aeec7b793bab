// Jest side of the hardening scenarios: each runs in its own child process (spawnSync with a
// timeout), so a crash, an abort or a hang of the library fails one assertion instead of
// taking Jest down or stalling it.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(__dirname, 'fixtures');

/**
 * Runs `node [nodeArgs] fixtures/<file> <scenario>` (`file` relative to fixtures/, `scenario`
 * one argument or several); returns its exit status, signal, output, the parsed RESULT line
 * (or undefined) and the wall time.
 */
function runScenario(file, scenario, { timeout = 15_000, nodeArgs = [], node = process.execPath, env } = {}) {
  const started = Date.now();
  const child = spawnSync(node, [...nodeArgs, path.join(FIXTURES, file), ...[scenario].flat()], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout,
    killSignal: 'SIGKILL',
    env: env ?? process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = (child.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  return {
    status: child.status,
    signal: child.signal,
    timedOut: child.error?.code === 'ETIMEDOUT',
    stdout: child.stdout ?? '',
    stderr: child.stderr ?? '',
    parsed: line === undefined ? undefined : JSON.parse(line.slice('RESULT '.length)),
    elapsedMs: Date.now() - started,
  };
}

const tail = (text, n = 1500) => (text.length > n ? `…${text.slice(-n)}` : text);

/**
 * Fails with a readable message unless the child exited with 0, printed its RESULT, saw no
 * unhandled rejection (in any thread) and no worker died of an uncaught exception; returns the
 * scenario's result.
 */
function cleanResult(run) {
  const problems = [];
  if (run.timedOut) problems.push('the child process hung (killed at the spawnSync timeout)');
  if (run.signal !== null) problems.push(`the child process died of ${run.signal}`);
  if (run.status !== 0) problems.push(`the child process exited with status ${run.status}`);
  if (run.parsed === undefined) problems.push('the child process printed no RESULT line');
  else {
    if (run.parsed.unhandled.length !== 0) problems.push(`unhandledRejection: ${run.parsed.unhandled.join(' | ')}`);
    const crashed = run.parsed.workerErrors ?? [];
    if (crashed.length !== 0) problems.push(`a worker died of an uncaught exception: ${crashed.join(' | ')}`);
  }
  if (/FATAL ERROR|Aborted|core dumped|Segmentation fault/.test(run.stderr))
    problems.push('stderr reports a fatal crash');
  if (problems.length !== 0) {
    throw new Error(
      `${problems.join('; ')}\n--- result: ${JSON.stringify(run.parsed?.result)}\n--- stderr:\n${tail(run.stderr)}`,
    );
  }
  return run.parsed.result;
}

module.exports = { ROOT, FIXTURES, runScenario, cleanResult };
