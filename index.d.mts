// Types of the ES module entry (lib/index.mjs): the declarations of index.d.ts, and the default
// export, which is the whole CommonJS module.
import * as threadflight from './index.js';

export * from './index.js';
export default threadflight;
