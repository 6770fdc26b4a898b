import { createHash } from 'node:crypto';
import type { ListOptions, TxOp } from '../../../storage/physical.js';
import { getJson, type Storage } from '../../../storage/storage.js';
import { DEFAULT_CONFIG, type KeyMetadata, type KvConfig, type VersionData } from './model.js';

const CONFIG_KEY = 'config';
const METADATA_PREFIX = 'metadata/';
const VERSIONS_PREFIX = 'versions/';

/**
 * Storage layout of a KV version 2 mount, inside the mount's own storage view:
 *
 * - `config`: the mount-wide settings.
 * - `metadata/<path>`: one key's metadata, so listing `metadata/<folder>` lists secret names.
 * - `versions/<sha256 of path>/<n>`: the data of version n. The path is hashed because a version
 *   number appended to a raw path would collide with a secret named `<path>/<n>`.
 *
 * Every change to a key is one storage transaction, and changes to one key run one at a time.
 */
export class KvStore {
  private readonly keyLocks = new Map<string, Promise<void>>();

  constructor(private readonly storage: Storage) {}

  async readConfig(): Promise<KvConfig> {
    const stored = await getJson<Partial<KvConfig>>(this.storage, CONFIG_KEY);
    return { ...DEFAULT_CONFIG, ...stored };
  }

  async writeConfig(config: KvConfig): Promise<void> {
    await this.storage.put(CONFIG_KEY, encode(config));
  }

  readMetadata(path: string): Promise<KeyMetadata | null> {
    return getJson<KeyMetadata>(this.storage, METADATA_PREFIX + path);
  }

  readVersion(path: string, version: number): Promise<VersionData | null> {
    return getJson<VersionData>(this.storage, versionKey(path, version));
  }

  /** Lists secret names and folders under a folder prefix (empty for the mount root). */
  listKeys(folder: string, page: ListOptions): Promise<string[]> {
    return this.storage.list(METADATA_PREFIX + folder, page);
  }

  putMetadataOp(path: string, meta: KeyMetadata): TxOp {
    return { op: 'put', key: METADATA_PREFIX + path, value: encode(meta) };
  }

  deleteMetadataOp(path: string): TxOp {
    return { op: 'delete', key: METADATA_PREFIX + path };
  }

  putVersionOp(path: string, version: number, data: VersionData): TxOp {
    return { op: 'put', key: versionKey(path, version), value: encode(data) };
  }

  deleteVersionOp(path: string, version: number): TxOp {
    return { op: 'delete', key: versionKey(path, version) };
  }

  commit(ops: TxOp[]): Promise<void> {
    return this.storage.transaction(ops);
  }

  /**
   * Runs `task` once every earlier task for the same path has finished, so that a read of the
   * metadata, the check-and-set comparison and the write that follows cannot interleave with
   * another change to the key. The lock lives in this process only.
   */
  async withKeyLock<T>(path: string, task: () => Promise<T>): Promise<T> {
    const previous = this.keyLocks.get(path) ?? Promise.resolve();
    let release = (): void => {};
    const taskDone = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => taskDone);
    this.keyLocks.set(path, tail);

    await previous;
    try {
      return await task();
    } finally {
      release();
      if (this.keyLocks.get(path) === tail) this.keyLocks.delete(path);
    }
  }
}

function versionKey(path: string, version: number): string {
  const pathHash = createHash('sha256').update(path, 'utf8').digest('hex');
  return `${VERSIONS_PREFIX}${pathHash}/${version}`;
}

function encode(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}
