// threadflight/adonis: what config/threadflight.ts and `node ace configure` import. Nothing here
// loads AdonisJS itself, so the config can be read (and checked) anywhere.
export { defineConfig, type ThreadflightConfig, type ResolvedThreadflightConfig } from './define_config.mjs';
export { ThreadflightManager } from './manager.mjs';
export { configure, stubsRoot } from './configure.mjs';
export type { CoalesceOptions } from './coalesce_options.mjs';
export type { LeaderFlight } from './middleware.mjs';
