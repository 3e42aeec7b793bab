// node examples/express/server.js
// An Express server whose product route is coalesced: it sends itself 50 concurrent requests
// for one product and prints how many times the handler ran (once) and what the clients got.
const http = require('node:http');
const express = require('express');
const { coalesce } = require('threadflight/express');

const app = express();
let queries = 0;
const db = {
  async findProduct(id) {
    queries += 1;
    await new Promise((resolve) => setTimeout(resolve, 1000)); // a slow query
    return { id, name: `Product ${id}`, price: 9.99 };
  },
};

app.get('/products/:id', coalesce({ name: 'products', maxDuration: 5000 }), async (req, res) => {
  res.json(await db.findProduct(req.params.id));
});
app.use((err, req, res, next) => {
  if (res.headersSent) return next(err);
  res.status(err.status ?? 500).json({ error: err.message });
});

const server = app.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 100 });
  const get = () =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/products/42', agent }, (res) => {
          let body = '';
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
  const bodies = await Promise.all(Array.from({ length: 50 }, get));
  console.log(`50 concurrent requests, ${queries} query, ${new Set(bodies).size} distinct body: ${bodies[0]}`);
  agent.destroy();
  server.close();
});
