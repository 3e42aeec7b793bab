// The AdonisJS versions under test, the apps (child processes) they run, and an HTTP client.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const fixtures = path.join(__dirname, 'fixtures');
const v7Modules = path.join(__dirname, 'v7-app', 'node_modules');

/**
 * Where a version's fixtures run from. AdonisJS 6: in place (the repository's node_modules, and
 * 'threadflight/…' by the package's self-reference). AdonisJS 7: a copy in a temporary directory
 * whose node_modules is the v7 app's, so that both the fixtures and the copy of threadflight there
 * load AdonisJS 7.
 */
let v7Copy;
function v7Dir() {
  if (v7Copy !== undefined) return v7Copy;
  const dir = fs.mkdtempSync(path.join(process.env.THREADFLIGHT_ADONIS_TMP ?? os.tmpdir(), 'threadflight-adonis7-'));
  fs.cpSync(fixtures, dir, { recursive: true });
  fs.cpSync(path.join(__dirname, 'types'), path.join(dir, 'types'), { recursive: true });
  fs.symlinkSync(v7Modules, path.join(dir, 'node_modules'), 'dir');
  v7Copy = dir;
  return dir;
}

const VERSIONS = [
  { name: 'AdonisJS 6', node: process.execPath, dir: () => fixtures },
  { name: 'AdonisJS 7', node: process.env.THREADFLIGHT_ADONIS_NODE24, dir: v7Dir },
].filter((version) => version.node !== undefined);

/** Runs a fixture script to its end; its last stdout line is JSON. */
function runFixture(version, script, args = [], { cwd } = {}) {
  const dir = version.dir();
  const result = spawnSync(version.node, [path.join(dir, script), ...args], { encoding: 'utf8', cwd, timeout: 60_000 });
  if (result.status !== 0) throw new Error(`${script} on ${version.name} exited ${result.status}:\n${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

/** Starts the fixture app (server.mjs); resolves to { base, stop() } once it listens. */
function startApp(version) {
  const child = spawn(version.node, [path.join(version.dir(), 'server.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && !resolve.done) {
        resolve.done = true;
        const { port, node, loaded } = JSON.parse(line);
        resolve({
          base: `http://127.0.0.1:${port}`,
          node,
          loaded,
          stderr: () => stderr,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
    exited.then((how) => reject(new Error(`the app exited before listening: ${JSON.stringify(how)}`)));
  });
}

/**
 * One request without keep-alive (each on its own connection); resolves to
 * { status, headers, body } (body a Buffer), or rejects if the connection fails.
 * `abort()` closes it from the client's side.
 */
function request(url, { method = 'GET', headers = {} } = {}) {
  let req;
  const response = new Promise((resolve, reject) => {
    req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  return Object.assign(response, { abort: () => req.destroy() });
}

async function json(url, options) {
  const res = await request(url, options);
  return JSON.parse(res.body.toString());
}

/** Polls the app's /__stats until `check(stats)` holds; resolves to those stats. */
async function statsWhen(base, check, what = check.toString()) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const stats = await json(`${base}/__stats`);
    if (check(stats)) return stats;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stats: ${JSON.stringify(stats)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

module.exports = { VERSIONS, runFixture, startApp, request, json, statsWhen };
