import type { Backend } from '../../../framework/types.js';
import type { Storage } from '../../../storage/storage.js';
import { dataPaths } from './data.js';
import { metadataPaths } from './metadata.js';
import { KvStore } from './store.js';
import { versionPaths } from './versions.js';

/**
 * KV version 2: every write stores a new numbered version of the secret. Keys carry metadata
 * (version history, check-and-set, version limits, custom metadata) apart from the data, and
 * versions can be soft-deleted, undeleted and destroyed.
 */
export function createKvV2Backend(storage: Storage): Backend {
  const store = new KvStore(storage);
  return {
    paths: [...metadataPaths(store), ...dataPaths(store), ...versionPaths(store)],
  };
}
