// Registers the 'threadflight.manager' singleton (adonisrc.ts: () => import('threadflight/adonis/provider')).
// The default export must be a class: AdonisJS checks that it is one before it constructs it.
import type { ApplicationService } from '@adonisjs/core/types';
import type { ThreadflightConfig } from './define_config.mjs';
import { ThreadflightManager } from './manager.mjs';

declare module '@adonisjs/core/types' {
  interface ContainerBindings {
    'threadflight.manager': ThreadflightManager;
  }
}

export default class ThreadflightProvider {
  #manager: ThreadflightManager | undefined;

  constructor(protected app: ApplicationService) {}

  /** The manager is made on first use, from config/threadflight.ts (defaults without one). */
  register(): void {
    this.app.container.singleton('threadflight.manager', () => {
      this.#manager = new ThreadflightManager(this.app.config.get<ThreadflightConfig>('threadflight', {}));
      return this.#manager;
    });
  }

  /** Lets the caches' Redis subscriptions go, if the manager was ever made. */
  shutdown(): void {
    this.#manager?.close();
  }
}
