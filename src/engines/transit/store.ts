import type { Logger } from 'pino';
import { BadRequestError } from '../../errors.js';
import type { ListOptions } from '../../storage/physical.js';
import { getJson, putJson, type Storage } from '../../storage/storage.js';
import { HMAC_KEY_SIZE, KEY_TYPES, MIN_AUTO_ROTATE_SECONDS, type KeyType } from './key-types.js';
import { generateVersion, type KeyVersion } from './material.js';
import { TransitKey, type StoredPolicy } from './policy.js';

/** Storage prefix of transit keys inside the mount's view. */
const POLICY_PREFIX = 'policy/';

/** Number of decoded keys the cache keeps when `cache-config` was never written. */
export const DEFAULT_CACHE_SIZE = 1000;

/** Settings of a new key, from `keys/NAME`, an encrypt upsert, or an import. */
export interface NewKeyOptions {
  type: KeyType;
  derived: boolean;
  convergent_encryption: boolean;
  exportable: boolean;
  allow_plaintext_backup: boolean;
  auto_rotate_period: number;
  key_size: number;
  imported?: boolean;
  allow_rotation?: boolean;
}

/**
 * Loads, caches and changes transit keys. Every change to a key runs under that key's lock and
 * replaces its cache entry, so concurrent rotations or config writes apply one after another and
 * readers never see a half-applied change. The cache is least-recently-used with a size limit
 * (0 means unlimited, as in Vault).
 */
export class KeyStore {
  private readonly cache = new Map<string, TransitKey>();
  private readonly locks = new Map<string, Promise<void>>();
  /** Counts writes, so a load that raced with a write does not cache what it read. */
  private writeCount = 0;
  private cacheSize = DEFAULT_CACHE_SIZE;

  constructor(
    private readonly storage: Storage,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Sets the maximum number of cached keys; 0 means unlimited. */
  setCacheSize(size: number): void {
    this.cacheSize = size;
    this.evict();
  }

  /** Loads a key from the cache or storage, or returns null when it does not exist. */
  async load(name: string): Promise<TransitKey | null> {
    const cached = this.cache.get(name);
    if (cached) {
      this.cache.delete(name);
      this.cache.set(name, cached);
      return cached;
    }
    const writesBefore = this.writeCount;
    const policy = await getJson<StoredPolicy>(this.storage, POLICY_PREFIX + name);
    if (!policy) return null;
    const key = new TransitKey(policy);
    if (writesBefore === this.writeCount) this.remember(key);
    return key;
  }

  /** Loads a key for an operation, rotating it first when its `auto_rotate_period` has passed. */
  async loadForUse(name: string): Promise<TransitKey | null> {
    const key = await this.load(name);
    if (!key || !key.rotationDue(this.now())) return key;
    return this.rotateIfDue(name);
  }

  /** Runs `fn` while holding the lock of key `name`; calls for the same key run one at a time. */
  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(name) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.locks.set(name, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(name) === tail) this.locks.delete(name);
    }
  }

  /**
   * Applies `change` to a copy of the stored key under the key's lock and saves it. Throws 400
   * when the key does not exist.
   */
  async update(name: string, change: (policy: StoredPolicy) => void | Promise<void>): Promise<TransitKey> {
    return this.withLock(name, async () => {
      const policy = await this.readStored(name);
      if (!policy) throw new BadRequestError(`key "${name}" not found`);
      await change(policy);
      return this.save(policy);
    });
  }

  /** Creates a key with a first version unless it exists; returns the key and whether it was created. */
  async create(name: string, options: NewKeyOptions, firstVersion?: KeyVersion): Promise<{ key: TransitKey; created: boolean }> {
    checkNewKeyOptions(options);
    return this.withLock(name, async () => {
      const existing = await this.readStored(name);
      if (existing) return { key: new TransitKey(existing), created: false };

      const version = firstVersion ?? (await generateVersion(options.type, options.key_size));
      const key = await this.save(newPolicy(name, options, { ...version, creation_time: this.timestamp() }));
      this.logger.info({ key: name, type: options.type }, 'transit key created');
      return { key, created: true };
    });
  }

  /** Adds a newly generated version to a key. Imported keys rotate only with `allow_rotation`. */
  async rotate(name: string): Promise<TransitKey> {
    const key = await this.update(name, async (policy) => {
      if (policy.imported && !policy.allow_rotation) {
        throw new BadRequestError(`key "${name}" was imported without allow_rotation, so it cannot be rotated`);
      }
      addVersion(policy, { ...(await generateVersion(policy.type, policy.key_size)), creation_time: this.timestamp() });
      // Once rotated here, the key contains generated material, so it no longer accepts imports.
      if (policy.imported) policy.imports_closed = true;
    });
    this.logger.info({ key: name, version: key.policy.latest_version }, 'transit key rotated');
    return key;
  }

  /** Writes a policy (a restore or import replaces the whole entry) and refreshes the cache. */
  async save(policy: StoredPolicy): Promise<TransitKey> {
    this.writeCount++;
    await putJson(this.storage, POLICY_PREFIX + policy.name, policy);
    this.writeCount++;
    const key = new TransitKey(policy);
    this.remember(key);
    return key;
  }

  /** Deletes a key's entry and its cache entry. */
  async remove(name: string): Promise<void> {
    this.writeCount++;
    this.cache.delete(name);
    await this.storage.delete(POLICY_PREFIX + name);
  }

  /** Reads the stored entry directly, bypassing the cache, for changes made under the lock. */
  async readStored(name: string): Promise<StoredPolicy | null> {
    return getJson<StoredPolicy>(this.storage, POLICY_PREFIX + name);
  }

  /** Lists key names in order, with Vault's `after` and `limit` paging. */
  list(page: ListOptions): Promise<string[]> {
    return this.storage.list(POLICY_PREFIX, page);
  }

  /** Rotates every key whose `auto_rotate_period` has passed; logs and skips keys that fail. */
  async rotateDueKeys(): Promise<number> {
    let rotated = 0;
    let after: string | undefined;
    for (;;) {
      const names = await this.list({ after, limit: 500 });
      for (const name of names) {
        try {
          const key = await this.load(name);
          if (key?.rotationDue(this.now()) && (await this.rotateIfDue(name))) rotated++;
        } catch (err) {
          this.logger.error({ key: name, err }, 'automatic rotation of transit key failed');
        }
      }
      if (names.length < 500) return rotated;
      after = names[names.length - 1];
    }
  }

  /** Rotates under the lock after checking again that rotation is still due. */
  private async rotateIfDue(name: string): Promise<TransitKey | null> {
    const stillDue = await this.withLock(name, async () => {
      const policy = await this.readStored(name);
      return policy !== null && new TransitKey(policy).rotationDue(this.now());
    });
    // Another request may rotate between the check and the rotation; that only skips a version.
    return stillDue ? this.rotate(name) : this.load(name);
  }

  /** Returns the store clock's time in RFC 3339, the creation time of new versions. */
  private timestamp(): string {
    return new Date(this.now()).toISOString();
  }

  private remember(key: TransitKey): void {
    this.cache.delete(key.name);
    this.cache.set(key.name, key);
    this.evict();
  }

  private evict(): void {
    if (this.cacheSize === 0) return;
    while (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
  }
}

/** Adds a version as the new latest version of a policy. */
export function addVersion(policy: StoredPolicy, version: KeyVersion): void {
  policy.latest_version += 1;
  policy.versions[policy.latest_version] = version;
}

function newPolicy(name: string, options: NewKeyOptions, version: KeyVersion): StoredPolicy {
  return {
    name,
    type: options.type,
    derived: options.derived,
    kdf: 'hkdf_sha256',
    convergent_encryption: options.convergent_encryption,
    convergent_version: options.convergent_encryption ? 3 : 0,
    exportable: options.exportable,
    allow_plaintext_backup: options.allow_plaintext_backup,
    deletion_allowed: false,
    min_decryption_version: 1,
    min_encryption_version: 0,
    min_available_version: 0,
    latest_version: 1,
    auto_rotate_period: options.auto_rotate_period,
    imported: options.imported ?? false,
    allow_rotation: options.allow_rotation ?? false,
    key_size: options.type === 'hmac' ? options.key_size : 0,
    versions: { 1: version },
  };
}

/** Throws 400 for settings the key type cannot have. */
export function checkNewKeyOptions(options: NewKeyOptions): void {
  const spec = KEY_TYPES[options.type];
  if (options.convergent_encryption && !options.derived) {
    throw new BadRequestError('convergent_encryption requires derived to be true');
  }
  if (options.convergent_encryption && !spec.convergent) {
    throw new BadRequestError(`convergent_encryption is not supported for key type ${options.type}`);
  }
  if (options.derived && !spec.derivation) {
    throw new BadRequestError(`key derivation is not supported for key type ${options.type}`);
  }
  if (options.type === 'hmac') {
    if (options.key_size < HMAC_KEY_SIZE.min || options.key_size > HMAC_KEY_SIZE.max) {
      throw new BadRequestError(`invalid key_size ${options.key_size}: hmac keys take ${HMAC_KEY_SIZE.min} to ${HMAC_KEY_SIZE.max} bytes`);
    }
  }
  checkAutoRotatePeriod(options.auto_rotate_period);
}

/** Throws 400 unless the period is 0 (disabled) or at least one hour. */
export function checkAutoRotatePeriod(seconds: number): void {
  if (seconds !== 0 && seconds < MIN_AUTO_ROTATE_SECONDS) {
    throw new BadRequestError(`invalid auto_rotate_period ${seconds}s: use 0 to disable, or at least 1h`);
  }
}
