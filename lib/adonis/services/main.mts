// The app's ThreadflightManager, once the app has booted (as @adonisjs/cache's services/main):
//   import threadflight from 'threadflight/adonis/services/main'
import app from '@adonisjs/core/services/app';
import type { ThreadflightManager } from '../manager.mjs';

let manager: ThreadflightManager;

// Top-level await: importers get the manager itself, already made from the app's config.
await app.booted(async () => {
  manager = await app.container.make('threadflight.manager');
});

export { manager as default };
