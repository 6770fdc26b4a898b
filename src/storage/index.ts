import type { StorageConfig } from '../config/types.js';
import { InmemPhysical } from './inmem.js';
import type { Physical } from './physical.js';
import { SqlitePhysical } from './sqlite.js';

/** Opens the physical storage backend that a server configuration's `storage` block names. */
export async function createPhysical(config: StorageConfig): Promise<Physical> {
  switch (config.type) {
    case 'inmem':
      return new InmemPhysical();
    case 'sqlite':
      return SqlitePhysical.open(config.path);
    default:
      throw new Error(`unsupported storage type: ${JSON.stringify((config as { type: unknown }).type)}`);
  }
}
