// threadflight/express across processes: three Express servers sharing flights through a real
// redis-server answer 60 concurrent requests with one handler run.
const { spawn } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');
const readline = require('node:readline');
const Redis = require('ioredis').default;
const { startRedis } = require('./helpers');

const MEMBER = path.join(__dirname, 'fixtures', 'express-member.js');
let redis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

function startServer(config) {
  const child = spawn(process.execPath, [MEMBER, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line).port));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { child, port };
}

function get(port, agent) {
  return new Promise((resolve, reject) => {
    http
      // One Host for all, as behind a load balancer: the host is part of the key.
      .get({ host: '127.0.0.1', port, path: '/products/5', agent, headers: { host: 'shop.example' } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

test('3 processes x 20 requests => one handler run; 60 identical bodies', async () => {
  const prefix = `ex${process.pid}`;
  const servers = Array.from({ length: 3 }, () => startServer({ port: redis.port, prefix, expected: 60 }));
  try {
    const ports = await Promise.all(servers.map((s) => s.port));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 200 });
    const responses = await Promise.all(Array.from({ length: 60 }, (_, i) => get(ports[i % 3], agent)));
    agent.destroy();
    const admin = new Redis(redis.port);
    const runs = Number(await admin.get(`${prefix}:runs`));
    admin.disconnect();
    expect(runs).toBe(1);
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(new Set(responses.map((r) => r.body.toString('base64'))).size).toBe(1);
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
    await Promise.all(
      servers.map(
        (s) => new Promise((resolve) => (s.child.exitCode === null ? s.child.once('exit', resolve) : resolve())),
      ),
    );
  }
});
