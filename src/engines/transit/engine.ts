import type { Logger } from 'pino';
import { getJson, type Storage } from '../../storage/storage.js';
import type { KeyStore } from './store.js';

/** Storage key of the mount-wide `config/keys` settings. */
export const KEYS_CONFIG_KEY = 'config/keys';

/** State shared by the transit path handlers: the key store and the mount's storage and logger. */
export interface TransitEngine {
  store: KeyStore;
  storage: Storage;
  logger: Logger;
}

/** Key name pattern of Vault's transit paths: word characters, with `-` and `.` inside. */
export const KEY_NAME = '(?<name>\\w(?:[\\w.-]*\\w)?)';

/** True unless `config/keys` sets `disable_upsert`. */
export async function upsertAllowed(engine: TransitEngine): Promise<boolean> {
  const config = await getJson<{ disable_upsert?: boolean }>(engine.storage, KEYS_CONFIG_KEY);
  return !config?.disable_upsert;
}
