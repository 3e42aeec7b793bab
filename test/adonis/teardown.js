// Removes the suite's temporary directories (setup.js).
const fs = require('node:fs');

module.exports = function teardown() {
  if (process.env.THREADFLIGHT_ADONIS_TMP)
    fs.rmSync(process.env.THREADFLIGHT_ADONIS_TMP, { recursive: true, force: true });
};
