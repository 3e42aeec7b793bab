// Real Express servers (4 and 5) on ephemeral ports, and a real HTTP client with enough sockets
// for every request to be in flight at once.
const http = require('node:http');

const EXPRESS = {
  'Express 4': require.resolve('express'),
  'Express 5': require.resolve('express5'),
};

/** Listens on an ephemeral port; `close()` ends every connection. */
async function listen(app) {
  const server = http.createServer(app);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1000 });
  return {
    port: server.address().port,
    agent,
    async close() {
      agent.destroy();
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** GET (or `method`) `path`: { status, headers, body: Buffer }. */
function request(port, path, { method = 'GET', headers = {}, agent, signal } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent, signal }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A promise opened by `open()`, and a count of arrivals that opens it at `count`. */
function gate(count = Infinity) {
  let open;
  const opened = new Promise((resolve) => (open = resolve));
  let arrived = 0;
  return {
    opened,
    open,
    arrive() {
      if (++arrived >= count) open();
    },
    get arrived() {
      return arrived;
    },
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

module.exports = { EXPRESS, listen, request, gate, sleep };
