// A named coalesce() across real worker_threads, each serving Express on its own port: one
// handler run for the whole process, and every client gets the leader's bytes.
const path = require('node:path');
const http = require('node:http');
const { Worker } = require('node:worker_threads');
const { EXPRESS, request } = require('./helpers');

const FIXTURE = path.join(__dirname, 'fixtures', 'server-worker.js');

test.each(Object.entries(EXPRESS))(
  '%s: 4 worker_threads x 50 requests => one handler run, 200 identical bodies',
  async (_, express) => {
    const shared = new SharedArrayBuffer(12);
    const counters = new Int32Array(shared);
    Atomics.store(counters, 2, 200);
    const name = `express-threads-${process.pid}-${path.basename(express)}`;
    const workers = Array.from(
      { length: 4 },
      (_, id) => new Worker(FIXTURE, { workerData: { shared, name, id, express } }),
    );
    try {
      const ports = await Promise.all(
        workers.map(
          (w) => new Promise((resolve, reject) => w.once('message', (m) => resolve(m.port)).once('error', reject)),
        ),
      );
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1000 });
      const responses = await Promise.all(
        // One Host for all, as behind a load balancer: the host is part of the key.
        Array.from({ length: 200 }, (_, i) =>
          request(ports[i % 4], '/products/9', { agent, headers: { host: 'shop.example' } }),
        ),
      );
      agent.destroy();
      expect(Atomics.load(counters, 0)).toBe(1);
      expect(responses.every((r) => r.status === 200)).toBe(true);
      expect(new Set(responses.map((r) => r.body.toString('base64'))).size).toBe(1);
      // Served through every port, answered by the one thread whose handler ran.
      expect(new Set(responses.map((r) => r.headers['x-thread'])).size).toBe(1);
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  },
);
