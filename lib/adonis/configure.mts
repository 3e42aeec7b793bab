// `node ace configure threadflight/adonis`: registers the provider and the coalesce middleware,
// and writes config/threadflight.ts from the stub.
import { fileURLToPath } from 'node:url';
import type Configure from '@adonisjs/core/commands/configure';

/** Where the stubs are: stubs/adonis/ of the package (from dist/adonis/). */
export const stubsRoot = fileURLToPath(new URL('../../stubs/adonis/', import.meta.url));

export async function configure(command: Configure): Promise<void> {
  const codemods = await command.createCodemods();
  await codemods.makeUsingStub(stubsRoot, 'config.stub', {});
  await codemods.updateRcFile((rcFile) => {
    rcFile.addProvider('threadflight/adonis/provider');
  });
  await codemods.registerMiddleware('named', [{ name: 'coalesce', path: 'threadflight/adonis/middleware' }]);
}
