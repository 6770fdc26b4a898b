import { BadRequestError, InternalError, SealedError } from '../../errors.js';
import type { ListOptions, Physical, TxOp } from '../../storage/physical.js';
import { checkKey, checkPrefix, checkTxOp } from '../../storage/keys.js';
import { checkTerm, decryptEntry, encryptEntry, entryTerm, KEY_SIZE } from './entry.js';
import { Keyring } from './keyring.js';
import { DEFAULT_CACHE_LIMITS, PlaintextCache, type PlaintextCacheLimits } from './read-cache.js';
import type { KeyStatus, SecurityBarrier } from './types.js';

/** Physical path of the keyring, encrypted with the root key. */
export const KEYRING_PATH = 'core/keyring';

/**
 * Physical prefix of every logical entry. Physical keys under `core/` belong to the barrier and
 * the seal, and the prefix keeps logical writes from reaching them.
 */
export const LOGICAL_PREFIX = 'logical/';

/** Term written in the keyring entry's header. Key terms start at 1. */
const KEYRING_TERM = 0;

export interface BarrierOptions {
  /** Limits of the cache of decrypted entries; `maxEntries: 0` disables it. */
  readCache?: PlaintextCacheLimits;
}

/**
 * A `SecurityBarrier` that encrypts entries with AES-256-GCM (see `entry.ts` for the format) and
 * stores them in a `Physical` under `logical/`.
 *
 * Decrypted entries are kept in a bounded LRU cache by logical path: filled on read, replaced
 * when a put or transaction is acknowledged, dropped on delete, and zeroed on seal. The cache
 * assumes this barrier is the only writer of `logical/`. Another process writing the same storage
 * (a standby node, once high availability exists) would leave it stale.
 */
export class AesGcmBarrier implements SecurityBarrier {
  private keyring: Keyring | null = null;
  private rootKey: Buffer | null = null;
  // NOTE: counted in memory since the last unseal or rotation, so a restart resets it.
  private encryptions = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly cache: PlaintextCache;
  // Changes whenever a write starts or ends and on seal. A read fills the cache only when this is
  // unchanged across its physical read, so a value read before a write committed is never cached
  // after that write.
  private cacheEpoch = 0;
  // Changes on seal only, so a write acknowledged after a seal leaves the emptied cache alone.
  private sealCount = 0;

  constructor(
    private readonly physical: Physical,
    options: BarrierOptions = {},
  ) {
    this.cache = new PlaintextCache(options.readCache ?? DEFAULT_CACHE_LIMITS);
  }

  get sealed(): boolean {
    return this.keyring === null;
  }

  async initialized(): Promise<boolean> {
    return (await this.physical.get(KEYRING_PATH)) !== null;
  }

  async initialize(rootKey: Buffer): Promise<void> {
    checkRootKey(rootKey);
    return this.exclusive(async () => {
      if (await this.initialized()) {
        throw new BadRequestError('the barrier is already initialized');
      }
      const keyring = Keyring.create();
      try {
        await this.persistKeyring(keyring, rootKey);
      } finally {
        keyring.zero();
      }
    });
  }

  async unseal(rootKey: Buffer): Promise<void> {
    checkRootKey(rootKey);
    return this.exclusive(async () => {
      if (!this.sealed) return;

      const entry = await this.physical.get(KEYRING_PATH);
      if (entry === null) {
        throw new BadRequestError('the barrier is not initialized');
      }

      const keyring = openKeyring(rootKey, entry);
      this.rootKey = Buffer.from(rootKey);
      this.keyring = keyring;
      this.encryptions = 0;
    });
  }

  seal(): void {
    this.cache.clear();
    this.cacheEpoch++;
    this.sealCount++;
    this.keyring?.zero();
    this.rootKey?.fill(0);
    this.keyring = null;
    this.rootKey = null;
  }

  async rotate(): Promise<KeyStatus> {
    this.unsealedKeyring();
    return this.exclusive(async () => {
      const current = this.unsealedKeyring();
      const next = current.withNewTerm();
      checkTerm(next.activeTerm);
      const newKey = next.active().key;

      // Persist before activating, so no entry is ever written under a term the stored keyring
      // lacks.
      try {
        await this.persistKeyring(next, this.rootKey as Buffer);
      } catch (err) {
        newKey.fill(0);
        throw err;
      }
      if (this.keyring !== current) {
        // Sealed while the keyring was being written.
        newKey.fill(0);
        throw new SealedError();
      }

      this.keyring = next;
      this.encryptions = 0;
      return this.keyStatus();
    });
  }

  keyStatus(): KeyStatus {
    const { term, installTime } = this.unsealedKeyring().active();
    return { term, installTime, encryptions: this.encryptions };
  }

  async get(key: string): Promise<Buffer | null> {
    this.unsealedKeyring();
    checkKey(key);
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;

    const epoch = this.cacheEpoch;
    const path = LOGICAL_PREFIX + key;
    const entry = await this.physical.get(path);
    if (entry === null) return null;
    const plaintext = this.decrypt(path, entry);
    if (this.cacheEpoch === epoch) this.cache.set(key, plaintext);
    return plaintext;
  }

  async put(key: string, value: Buffer): Promise<void> {
    this.unsealedKeyring();
    checkKey(key);
    if (!Buffer.isBuffer(value)) {
      throw new TypeError(`invalid value for "${key}": expected a Buffer`);
    }
    const path = LOGICAL_PREFIX + key;
    const entry = this.encrypt(path, value);
    await this.writeThrough([{ op: 'put', key, value: Buffer.from(value) }], () => this.physical.put(path, entry));
  }

  async delete(key: string): Promise<void> {
    this.unsealedKeyring();
    checkKey(key);
    await this.writeThrough([{ op: 'delete', key }], () => this.physical.delete(LOGICAL_PREFIX + key));
  }

  async list(prefix: string, options?: ListOptions): Promise<string[]> {
    this.unsealedKeyring();
    checkPrefix(prefix);
    // Physical listings return names relative to the prefix, so `logical/` needs no stripping.
    const names = await this.physical.list(LOGICAL_PREFIX + prefix, options);
    this.unsealedKeyring();
    return names;
  }

  async transaction(ops: TxOp[]): Promise<void> {
    this.unsealedKeyring();
    const physicalOps = ops.map((op): TxOp => {
      checkTxOp(op);
      const path = LOGICAL_PREFIX + op.key;
      return op.op === 'put'
        ? { op: 'put', key: path, value: this.encrypt(path, op.value) }
        : { op: 'delete', key: path };
    });
    const cacheOps = ops.map(
      (op): TxOp => (op.op === 'put' ? { op: 'put', key: op.key, value: Buffer.from(op.value) } : op),
    );
    await this.writeThrough(cacheOps, () => this.physical.transaction(physicalOps));
  }

  /**
   * Runs a physical write, then applies `ops` (logical keys, plaintext values copied when the
   * write began) to the cache once it is acknowledged. On failure the keys are dropped from the
   * cache, since their stored state is then uncertain.
   */
  private async writeThrough(ops: TxOp[], write: () => Promise<void>): Promise<void> {
    const sealCount = this.sealCount;
    this.cacheEpoch++;
    try {
      await write();
      this.cacheEpoch++;
      if (this.sealCount !== sealCount) return;
      for (const op of ops) {
        if (op.op === 'put') this.cache.set(op.key, op.value);
        else this.cache.delete(op.key);
      }
    } catch (err) {
      this.cacheEpoch++;
      for (const op of ops) this.cache.delete(op.key);
      throw err;
    } finally {
      for (const op of ops) if (op.op === 'put') op.value.fill(0);
    }
  }

  /** Returns the keyring, or throws `SealedError` while sealed. */
  private unsealedKeyring(): Keyring {
    if (this.keyring === null) throw new SealedError();
    return this.keyring;
  }

  private encrypt(path: string, plaintext: Buffer): Buffer {
    const { term, key } = this.unsealedKeyring().active();
    this.encryptions++;
    return encryptEntry(key, term, path, plaintext);
  }

  private decrypt(path: string, entry: Buffer): Buffer {
    // Checked again because the barrier may have been sealed while the entry was being read.
    const keyring = this.unsealedKeyring();
    const term = entryTerm(path, entry);
    const key = keyring.key(term);
    if (key === undefined) {
      throw new InternalError(`decrypting "${path}": unknown key term ${term}`);
    }
    return decryptEntry(key, path, entry);
  }

  private async persistKeyring(keyring: Keyring, rootKey: Buffer): Promise<void> {
    const serialized = keyring.serialize();
    let entry: Buffer;
    try {
      entry = encryptEntry(rootKey, KEYRING_TERM, KEYRING_PATH, serialized);
    } finally {
      serialized.fill(0);
    }
    try {
      await this.physical.put(KEYRING_PATH, entry);
    } catch (err) {
      throw new InternalError(`persisting keyring: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Runs `operation` after every earlier initialize, unseal and rotate has settled. */
  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

function checkRootKey(rootKey: Buffer): void {
  if (!Buffer.isBuffer(rootKey) || rootKey.length !== KEY_SIZE) {
    throw new TypeError(`invalid root key: expected a Buffer of ${KEY_SIZE} bytes`);
  }
}

/** Decrypts and parses the stored keyring. A wrong root key fails authentication. */
function openKeyring(rootKey: Buffer, entry: Buffer): Keyring {
  const term = entryTerm(KEYRING_PATH, entry);
  if (term !== KEYRING_TERM) {
    throw new InternalError(`unsealing: the entry at "${KEYRING_PATH}" has term ${term}, not 0`);
  }

  let serialized: Buffer;
  try {
    serialized = decryptEntry(rootKey, KEYRING_PATH, entry);
  } catch (err) {
    throw new InternalError(
      `unsealing: the root key does not decrypt the keyring at "${KEYRING_PATH}"`,
      { cause: err },
    );
  }
  try {
    return Keyring.deserialize(serialized);
  } finally {
    serialized.fill(0);
  }
}
