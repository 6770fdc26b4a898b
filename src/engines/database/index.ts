import type { Backend, BackendContext, BackendFactory } from '../../framework/types.js';
import { configPaths } from './config-paths.js';
import { DatabaseEngine } from './engine.js';
import { rolePaths } from './role-paths.js';
import { DEFAULT_ROTATION_TIMING, RotationScheduler, type RotationTiming } from './rotation.js';
import { credsSecretType } from './secrets.js';
import { staticPaths } from './static-paths.js';

/**
 * Creates the database secrets engine: connections (`config/`), dynamic roles whose credentials
 * are leases (`roles/`, `creds/`), and static roles whose passwords rotate on a schedule
 * (`static-roles/`, `static-creds/`, `rotate-role/`), on PostgreSQL, MySQL/MariaDB and Redis.
 */
export const databaseBackend: BackendFactory = (ctx) => createDatabaseBackend(ctx);

/** Creates the engine with explicit rotation timing; tests shorten the retry backoff. */
export function createDatabaseBackend(ctx: BackendContext, timing: RotationTiming = DEFAULT_ROTATION_TIMING): Backend {
  const engine = new DatabaseEngine(ctx);
  const scheduler = new RotationScheduler(engine, timing);
  return {
    paths: [...configPaths(engine), ...rolePaths(engine), ...staticPaths(engine, scheduler)],
    secretTypes: { creds: credsSecretType(engine) },
    initialize: () => scheduler.start(),
    cleanup: async () => {
      scheduler.stop();
      await engine.connections.closeAll();
    },
  };
}
