import { createHash } from 'node:crypto';
import type { LogicalRequest } from '../../../framework/types.js';
import type { ListOptions, TxOp } from '../../../storage/physical.js';
import { getJson, type Storage } from '../../../storage/storage.js';
import { DEFAULT_CONFIG, type KeyMetadata, type KvConfig, type VersionData } from './model.js';

const CONFIG_KEY = 'config';
const METADATA_PREFIX = 'metadata/';
const VERSIONS_PREFIX = 'versions/';

// Paths whose lock-task count is tracked at once. Past this the counts are dropped and the
// counter epoch advances, which only makes outstanding existence-check results unusable.
const MAX_TRACKED_PATHS = 10_000;

/** Metadata that a request's existence check read, and the path's task count at the time. */
interface ExistenceRead {
  path: string;
  epoch: number;
  finishedTasks: number;
  meta: KeyMetadata | null;
}

/**
 * Storage layout of a KV version 2 mount, inside the mount's own storage view:
 *
 * - `config`: the mount-wide settings.
 * - `metadata/<path>`: one key's metadata, so listing `metadata/<folder>` lists secret names.
 * - `versions/<sha256 of path>/<n>`: the data of version n. The path is hashed because a version
 *   number appended to a raw path would collide with a secret named `<path>/<n>`.
 *
 * Every change to a key is one storage transaction, and changes to one key run one at a time.
 * The config is read once and then kept in memory, and a write's existence check hands the
 * metadata it read to the handler. Both assume this store is the only writer of its storage view
 * (one server process, no high availability).
 */
export class KvStore {
  private readonly keyLocks = new Map<string, Promise<void>>();
  private config: KvConfig | null = null;
  // Changes when a config write starts or ends, so a read that overlapped one is not kept.
  private configWrites = 0;
  private readonly existenceReads = new WeakMap<LogicalRequest, ExistenceRead>();
  // Lock tasks finished per path since `taskEpoch` began; see `MAX_TRACKED_PATHS`.
  private readonly finishedTasks = new Map<string, number>();
  private taskEpoch = 0;

  constructor(private readonly storage: Storage) {}

  /** Returns the mount config, with defaults for unset fields. Reads storage only once. */
  async readConfig(): Promise<KvConfig> {
    if (this.config !== null) return { ...this.config };

    const writes = this.configWrites;
    const stored = await getJson<Partial<KvConfig>>(this.storage, CONFIG_KEY);
    const config = { ...DEFAULT_CONFIG, ...stored };
    if (this.configWrites === writes) this.config = config;
    return { ...config };
  }

  async writeConfig(config: KvConfig): Promise<void> {
    this.configWrites++;
    this.config = null;
    try {
      await this.storage.put(CONFIG_KEY, encode(config));
      this.config = { ...config };
    } finally {
      this.configWrites++;
    }
  }

  readMetadata(path: string): Promise<KeyMetadata | null> {
    return getJson<KeyMetadata>(this.storage, METADATA_PREFIX + path);
  }

  /**
   * Reads whether `path` has metadata, for a write's existence check, and keeps what it read so
   * that `readMetadataForWrite` in the same request's handler need not read it again.
   */
  async existsForRequest(req: LogicalRequest, path: string): Promise<boolean> {
    const epoch = this.taskEpoch;
    const finishedTasks = this.finishedTasks.get(path) ?? 0;
    const meta = await this.readMetadata(path);
    this.existenceReads.set(req, { path, epoch, finishedTasks, meta });
    return meta !== null;
  }

  /**
   * Returns the metadata of `path` for a change under `withKeyLock`: the copy the request's
   * existence check read when no other locked task on the path has finished since, otherwise a
   * fresh read. Each kept copy is handed out once, so the caller may change it.
   */
  async readMetadataForWrite(req: LogicalRequest, path: string): Promise<KeyMetadata | null> {
    const existenceRead = this.existenceReads.get(req);
    this.existenceReads.delete(req);
    const unchanged =
      existenceRead !== undefined &&
      existenceRead.path === path &&
      existenceRead.epoch === this.taskEpoch &&
      existenceRead.finishedTasks === (this.finishedTasks.get(path) ?? 0);
    return unchanged ? existenceRead.meta : this.readMetadata(path);
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
      this.countFinishedTask(path);
      release();
      if (this.keyLocks.get(path) === tail) this.keyLocks.delete(path);
    }
  }

  private countFinishedTask(path: string): void {
    if (!this.finishedTasks.has(path) && this.finishedTasks.size >= MAX_TRACKED_PATHS) {
      this.finishedTasks.clear();
      this.taskEpoch++;
    }
    this.finishedTasks.set(path, (this.finishedTasks.get(path) ?? 0) + 1);
  }
}

function versionKey(path: string, version: number): string {
  const pathHash = createHash('sha256').update(path, 'utf8').digest('hex');
  return `${VERSIONS_PREFIX}${pathHash}/${version}`;
}

function encode(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}
