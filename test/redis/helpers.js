// A real redis-server for the tests, on a free port in a temporary directory; and member
// processes (test/redis/fixtures/member.js) that take part in flights and report as JSON lines.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => socket.end(() => resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > until) throw new Error(`redis-server did not listen on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts redis-server (the Debian package; .ci/run installs it when missing). */
async function startRedis() {
  const check = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error('redis-server is not installed (apt-get install redis-server)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'threadflight-redis-'));
  const port = await freePort();
  let child;
  const server = {
    port,
    async start() {
      child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
        { stdio: 'ignore' },
      );
      await waitForPort(port);
    },
    /** SIGKILL: the server vanishes mid-command, as a crashed host's would. */
    async kill() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) await server.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

/** A Redis Cluster of three masters (redis-server --cluster-enabled, redis-cli --cluster create). */
async function startCluster() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'threadflight-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const children = ports.map((port) => {
    const nodeDir = path.join(dir, String(port));
    fs.mkdirSync(nodeDir);
    return spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        nodeDir,
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-node-timeout',
        '2000',
      ],
      { stdio: 'ignore' },
    );
  });
  await Promise.all(ports.map((port) => waitForPort(port)));
  const create = spawnSync(
    'redis-cli',
    ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
  for (const port of ports) {
    for (let tries = 0; ; tries += 1) {
      const info = spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8' });
      if (info.stdout.includes('cluster_state:ok')) break;
      if (tries > 200) throw new Error(`cluster node ${port} never became ready: ${info.stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    ports,
    async stop() {
      await Promise.all(
        children.map((child) => {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGKILL');
          return exited;
        }),
      );
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const MEMBER = path.join(__dirname, 'fixtures', 'member.js');

/**
 * A member process. `config` goes to member.js; `events` collects every JSON line it prints,
 * `waitFor(event)` resolves with the first line of that event.
 */
function startMember(config) {
  const child = spawn(process.execPath, [MEMBER, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const events = [];
  const waiting = [];
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    let event;
    try {
      event = JSON.parse(line);
    } catch {
      return;
    }
    events.push(event);
    for (const waiter of waiting.filter((w) => w.event === event.event)) {
      waiting.splice(waiting.indexOf(waiter), 1);
      waiter.resolve(event);
    }
  });
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, stderr: () => stderr })),
  );
  return {
    child,
    events,
    exited,
    stderr: () => stderr,
    waitFor(event, timeoutMs = 20_000) {
      const seen = events.find((e) => e.event === event);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no "${event}" from member ${child.pid} in ${timeoutMs} ms; stderr: ${stderr}`)),
          timeoutMs,
        );
        waiting.push({
          event,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
  };
}

const CACHE_MEMBER = path.join(__dirname, 'fixtures', 'cache-member.js');

/** A process with a FlightCache on Redis, answering `call(op, args)` (see cache-member.js). */
async function startCacheMember(config) {
  const child = spawn(process.execPath, [CACHE_MEMBER, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const pending = new Map();
  let next = 0;
  let ready;
  const isReady = new Promise((resolve) => (ready = resolve));
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const message = JSON.parse(line);
    if (message.ready) ready();
    else pending.get(message.id)?.(message);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await Promise.race([
    isReady,
    exited.then(() => {
      throw new Error(`cache member exited before it was ready: ${stderr}`);
    }),
  ]);
  return {
    child,
    stderr: () => stderr,
    call(op, args = {}) {
      const id = next++;
      child.stdin.write(`${JSON.stringify({ id, op, ...args })}\n`);
      return new Promise((resolve) => pending.set(id, resolve));
    },
    async close() {
      if (child.exitCode !== null) return;
      await this.call('close');
      await exited;
    },
  };
}

module.exports = { startRedis, startCluster, startMember, startCacheMember };
