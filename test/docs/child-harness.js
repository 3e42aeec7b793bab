// The child side of test/docs/readme.test.js: each README Express block runs in a child process
// whose program is `harness = require(this)(…)`, the block's prelude, the block, `harness.listen(app)`.
// It talks to the test over IPC: it reports requests and backend calls, and lets the test settle
// each backend call (resolve with a value or reject with an Error) at the moment it chooses.
'use strict';

module.exports = function harness({ express, upstream }) {
  const send = (message) => process.send(message);
  const waiting = new Map();
  let nextCall = 0;

  process.on('message', (m) => {
    if (m.cmd === 'ping') {
      // Handled in a later turn of the event loop than any request already received.
      send({ type: 'pong', seq: m.seq });
    } else if (m.cmd === 'settle') {
      const call = waiting.get(m.id);
      waiting.delete(m.id);
      if ('error' in m) call.reject(new Error(m.error));
      else call.resolve(m.value);
    }
  });

  return {
    /** Express 4 or 5, chosen by the test. */
    express: require(express),
    /** Base URL of an HTTP server run by the test (127.0.0.1, ephemeral port). */
    upstream,
    /** Middleware: tells the test that a request reached the app, and when its response closed. */
    reportRequests(req, res, next) {
      const id = req.headers['x-readme-test'];
      send({ type: 'request', url: req.originalUrl, id });
      res.on('close', () => send({ type: 'closed', id, finished: res.writableFinished }));
      next();
    },
    /** A backend call the test settles: resolves to the value or rejects with an Error it sends. */
    call(kind, info) {
      return new Promise((resolve, reject) => {
        const id = ++nextCall;
        waiting.set(id, { resolve, reject });
        send({ type: 'call', kind, id, info });
      });
    },
    listen(app) {
      const server = app.listen(0, '127.0.0.1', () => send({ type: 'listening', port: server.address().port }));
    },
  };
};
