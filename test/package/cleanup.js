// Jest globalTeardown of the package suite: removes what pack.js made.
const fs = require('node:fs');

module.exports = function cleanup() {
  if (process.env.THREADFLIGHT_PACK_DIR) fs.rmSync(process.env.THREADFLIGHT_PACK_DIR, { recursive: true, force: true });
};
