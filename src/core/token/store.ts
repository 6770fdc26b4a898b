import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { BadRequestError, PermissionDeniedError } from '../../errors.js';
import { getJson, putJson, type Storage } from '../../storage/storage.js';
import { KeyedLock } from '../../framework/keyed-lock.js';

/** A service token as stored. The token itself is never stored: `id` is its salted hash. */
export interface TokenEntry {
  id: string;
  accessor: string;
  /** Id of the parent token, or '' for an orphan. */
  parent: string;
  policies: string[];
  /** The path that created it, e.g. `auth/token/create`. */
  path: string;
  meta: Record<string, string>;
  displayName: string;
  /** Remaining uses; 0 means unlimited, and -1 marks a token whose last use is in flight. */
  numUses: number;
  /** Unix seconds. */
  creationTime: number;
  /** Seconds the token was created for (0: no expiry). */
  creationTtl: number;
  explicitMaxTtl: number;
  period: number;
  renewable: boolean;
  /** Milliseconds since the epoch; 0 means the token never expires. */
  expireTime: number;
  /** Milliseconds since the epoch of the last renewal or the creation. */
  issueTime: number;
  /** Milliseconds since the epoch of the creation; max TTLs count from here. */
  createdAt?: number;
  entityId: string;
  orphan: boolean;
  /** Batch tokens are not stored: they are encrypted, self-contained values. */
  type: 'service' | 'batch';
  /** Accessor of the auth mount that issued the token through a login; absent for token-store tokens. */
  mountAccessor?: string;
  /** CIDR blocks the token may be used from; empty or absent means anywhere. */
  boundCidrs?: string[];
  /** The auth method's data for renewals; never returned to callers. */
  authInternal?: Record<string, unknown>;
}

export interface CreateTokenInput {
  policies: string[];
  parent?: TokenEntry;
  path: string;
  meta?: Record<string, string>;
  displayName?: string;
  numUses?: number;
  /** Seconds; 0 means no expiry, allowed only for root tokens. */
  ttl: number;
  explicitMaxTtl?: number;
  period?: number;
  renewable?: boolean;
  orphan?: boolean;
  /** Only for `-dev-root-token-id`: a caller-chosen token value. */
  tokenValue?: string;
  mountAccessor?: string;
  boundCidrs?: string[];
  authInternal?: Record<string, unknown>;
}

const TOKEN_PREFIX = 'hvs.';
const BATCH_PREFIX = 'hvb.';
/** Prefix of the id of a batch token, which is derived from the token because nothing is stored. */
export const BATCH_ID_PREFIX = 'batch-';
const BATCH_AAD = Buffer.from('coffer batch token v1');

/** The fields a batch token carries inside its encrypted value. */
interface BatchClaims {
  policies: string[];
  parent: string;
  meta: Record<string, string>;
  displayName: string;
  creationTime: number;
  creationTtl: number;
  expireTime: number;
  path: string;
  mountAccessor?: string;
  boundCidrs?: string[];
}
const CACHE_LIMIT = 50_000;

/**
 * Stores tokens under a salted hash, with an accessor index and a parent index for revoking a
 * whole tree. Entries are cached in memory because every request looks its token up.
 */
export class TokenStore {
  private salt: Buffer | null = null;
  /** The salt as an HMAC key, imported once per load because every request hashes its token. */
  private saltKey: KeyObject | null = null;
  private batchKey: Buffer | null = null;
  private readonly cache = new Map<string, TokenEntry>();
  private readonly locks = new KeyedLock();
  /** Called after a token is deleted, to remove what belongs to it (its leases and cubbyhole). */
  onRevoke?: (tokenId: string) => Promise<void>;
  /** Called after a service token is created or renewed, so its expiry is tracked. */
  onExpiryChange?: (entry: TokenEntry) => Promise<void>;

  constructor(private readonly storage: Storage) {}

  /** Loads or creates the hashing salt; runs after each unseal. */
  async load(): Promise<void> {
    this.cache.clear();
    this.salt = await this.loadOrCreateKey('salt');
    this.saltKey = createSecretKey(this.salt);
    this.batchKey = await this.loadOrCreateKey('batch-key');
  }

  private async loadOrCreateKey(name: string): Promise<Buffer> {
    const stored = await this.storage.get(name);
    if (stored) return stored;
    const key = randomBytes(32);
    await this.storage.put(name, key);
    return key;
  }

  /** Forgets the salt and cached entries; runs on seal. */
  unload(): void {
    this.salt?.fill(0);
    this.salt = null;
    // NOTE: a KeyObject cannot be zeroed; dropping it leaves its copy of the salt to the collector.
    this.saltKey = null;
    this.batchKey?.fill(0);
    this.batchKey = null;
    this.cache.clear();
  }

  /** Returns the salted hash that identifies a token in storage. */
  hashToken(token: string): string {
    if (!this.saltKey) throw new Error('token store is not loaded');
    return createHmac('sha256', this.saltKey).update(token).digest('hex');
  }

  /** Creates and stores a token; returns the token value and its entry. */
  async create(input: CreateTokenInput): Promise<{ token: string; entry: TokenEntry }> {
    const token = input.tokenValue ?? TOKEN_PREFIX + randomBytes(24).toString('base64url');
    const now = Date.now();
    const entry: TokenEntry = {
      id: this.hashToken(token),
      accessor: randomBytes(18).toString('base64url'),
      parent: input.orphan || !input.parent ? '' : input.parent.id,
      policies: input.policies,
      path: input.path,
      meta: input.meta ?? {},
      displayName: input.displayName ?? 'token',
      numUses: input.numUses ?? 0,
      creationTime: Math.floor(now / 1000),
      creationTtl: input.ttl,
      explicitMaxTtl: input.explicitMaxTtl ?? 0,
      period: input.period ?? 0,
      renewable: input.renewable ?? true,
      expireTime: input.ttl > 0 ? now + input.ttl * 1000 : 0,
      issueTime: now,
      createdAt: now,
      entityId: '',
      orphan: Boolean(input.orphan || !input.parent),
      type: 'service',
      mountAccessor: input.mountAccessor,
      boundCidrs: input.boundCidrs?.length ? input.boundCidrs : undefined,
      authInternal: input.authInternal,
    };
    if (await this.storage.get(`id/${entry.id}`)) throw new BadRequestError('a token with that id already exists');

    const ops: Parameters<Storage['transaction']>[0] = [
      { op: 'put', key: `id/${entry.id}`, value: encode(entry) },
      { op: 'put', key: `accessor/${entry.accessor}`, value: Buffer.from(entry.id) },
    ];
    if (entry.parent) ops.push({ op: 'put', key: `parent/${entry.parent}/${entry.id}`, value: Buffer.alloc(0) });
    if (entry.mountAccessor) ops.push({ op: 'put', key: `mount/${entry.mountAccessor}/${entry.id}`, value: Buffer.alloc(0) });
    await this.storage.transaction(ops);
    this.remember(entry);
    if (entry.expireTime !== 0) await this.onExpiryChange?.(entry);
    return { token, entry };
  }

  /** Looks a token up by its value; returns null for unknown or expired tokens. */
  lookup(token: string): Promise<TokenEntry | null> {
    if (!token) return Promise.resolve(null);
    if (token.startsWith(BATCH_PREFIX)) return this.lookupBatch(token);
    return this.lookupById(this.hashToken(token));
  }

  /**
   * Creates a batch token: AES-256-GCM over its claims with a key kept in the barrier. Nothing is
   * stored, so it cannot be renewed or revoked and ends with its TTL or its parent.
   */
  createBatch(input: CreateTokenInput): { token: string; entry: TokenEntry } {
    if (!this.batchKey) throw new Error('token store is not loaded');
    if (input.policies.includes('root')) throw new BadRequestError('batch tokens cannot have the root policy');
    if (input.ttl <= 0) throw new BadRequestError('batch tokens need a TTL');
    const now = Date.now();
    const claims: BatchClaims = {
      policies: input.policies,
      parent: input.orphan || !input.parent ? '' : input.parent.id,
      meta: input.meta ?? {},
      displayName: input.displayName ?? 'token',
      creationTime: Math.floor(now / 1000),
      creationTtl: input.ttl,
      expireTime: now + input.ttl * 1000,
      path: input.path,
      mountAccessor: input.mountAccessor,
      boundCidrs: input.boundCidrs?.length ? input.boundCidrs : undefined,
    };
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.batchKey, nonce);
    cipher.setAAD(BATCH_AAD);
    const sealed = Buffer.concat([nonce, cipher.update(JSON.stringify(claims), 'utf8'), cipher.final(), cipher.getAuthTag()]);
    const token = BATCH_PREFIX + sealed.toString('base64url');
    return { token, entry: this.batchEntry(token, claims) };
  }

  private async lookupBatch(token: string): Promise<TokenEntry | null> {
    if (!this.batchKey) throw new Error('token store is not loaded');
    const sealed = Buffer.from(token.slice(BATCH_PREFIX.length), 'base64url');
    if (sealed.length < 12 + 16 + 2) return null;
    let claims: BatchClaims;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.batchKey, sealed.subarray(0, 12));
      decipher.setAAD(BATCH_AAD);
      decipher.setAuthTag(sealed.subarray(sealed.length - 16));
      const plain = Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
      claims = JSON.parse(plain.toString('utf8')) as BatchClaims;
    } catch {
      return null;
    }
    if (claims.expireTime <= Date.now()) return null;
    if (claims.parent && !(await this.lookupById(claims.parent))) return null;
    return this.batchEntry(token, claims);
  }

  private batchEntry(token: string, claims: BatchClaims): TokenEntry {
    return {
      id: BATCH_ID_PREFIX + this.hashToken(token),
      accessor: '',
      parent: claims.parent,
      policies: claims.policies,
      path: claims.path,
      meta: claims.meta,
      displayName: claims.displayName,
      numUses: 0,
      creationTime: claims.creationTime,
      creationTtl: claims.creationTtl,
      explicitMaxTtl: 0,
      period: 0,
      renewable: false,
      expireTime: claims.expireTime,
      issueTime: claims.creationTime * 1000,
      entityId: '',
      orphan: claims.parent === '',
      type: 'batch',
      mountAccessor: claims.mountAccessor,
      boundCidrs: claims.boundCidrs,
    };
  }

  /**
   * Looks a token up by its id. A use-limited token whose last use is taken is invalid, except
   * to the request that took it (`allowExhausted`), which may still act as it until it ends.
   */
  async lookupById(id: string, options: { allowExhausted?: boolean } = {}): Promise<TokenEntry | null> {
    let entry = this.cache.get(id) ?? null;
    if (!entry) {
      entry = await getJson<TokenEntry>(this.storage, `id/${id}`);
      if (entry) this.remember(entry);
    }
    if (entry && entry.expireTime !== 0 && entry.expireTime <= Date.now()) {
      // NOTE: expired tokens are removed when next looked up; a background sweep arrives with
      // the expiration manager.
      await this.revokeTree(entry);
      return null;
    }
    if (entry && entry.numUses < 0 && !options.allowExhausted) return null;
    return entry;
  }

  async lookupByAccessor(accessor: string): Promise<TokenEntry | null> {
    if (!/^[\w-]+$/.test(accessor)) return null;
    const id = await this.storage.get(`accessor/${accessor}`);
    return id ? this.lookupById(id.toString()) : null;
  }

  /** Counts one use of a use-limited token; returns true when that was its last use. */
  /**
   * Takes one use of a use-limited token, under a per-token lock so concurrent requests cannot
   * share a use. The last use is persisted as exhausted before this returns; the caller revokes
   * the token once its request ends. Throws 403 when no use is left.
   */
  async use(entry: TokenEntry): Promise<boolean> {
    if (entry.numUses === 0 || entry.type === 'batch') return false;
    return this.locks.run(entry.id, async () => {
      const current = await getJson<TokenEntry>(this.storage, `id/${entry.id}`);
      if (!current || current.numUses < 0) throw new PermissionDeniedError('permission denied: invalid token');
      const remaining = current.numUses - 1;
      await this.save({ ...current, numUses: remaining === 0 ? -1 : remaining });
      return remaining === 0;
    });
  }

  /** Runs `work` while holding the token's lock, so it does not interleave with a use. */
  withLock<T>(tokenId: string, work: () => Promise<T>): Promise<T> {
    return this.locks.run(tokenId, work);
  }

  /**
   * Renews a token by `increment` seconds (its creation TTL when absent), capped by its explicit
   * max TTL, the system max TTL and its period. Returns the new entry and the TTL granted.
   */
  async renew(entry: TokenEntry, increment: number | undefined, systemMaxTtl: number): Promise<{ entry: TokenEntry; ttl: number; capped: boolean }> {
    if (entry.type === 'batch') throw new BadRequestError('batch tokens cannot be renewed');
    if (entry.policies.includes('root') && entry.expireTime === 0) return { entry, ttl: 0, capped: false };
    if (!entry.renewable) throw new BadRequestError('invalid lease ID: the token is not renewable');

    const now = Date.now();
    const createdAt = entry.createdAt ?? entry.creationTime * 1000;
    let ttl = entry.period > 0 ? entry.period : (increment ?? entry.creationTtl);
    let capped = false;
    if (entry.period === 0) {
      const maxTtl = entry.explicitMaxTtl > 0 ? Math.min(entry.explicitMaxTtl, systemMaxTtl) : systemMaxTtl;
      const remaining = Math.floor((createdAt + maxTtl * 1000 - now) / 1000);
      if (ttl > remaining) {
        ttl = Math.max(remaining, 0);
        capped = true;
      }
    } else if (entry.explicitMaxTtl > 0) {
      const remaining = Math.floor((createdAt + entry.explicitMaxTtl * 1000 - now) / 1000);
      if (ttl > remaining) {
        ttl = Math.max(remaining, 0);
        capped = true;
      }
    }
    const updated = { ...entry, expireTime: now + ttl * 1000, issueTime: now };
    await this.save(updated);
    await this.onExpiryChange?.(updated);
    return { entry: updated, ttl, capped };
  }

  /** Revokes a token and, depth first, every descendant. */
  async revokeTree(root: TokenEntry): Promise<void> {
    if (root.type === 'batch') throw new BadRequestError('batch tokens cannot be revoked; they end with their TTL or their parent');
    const pending = [root.id];
    const order: string[] = [];
    while (pending.length > 0) {
      const id = pending.pop()!;
      order.push(id);
      for (const child of await this.listAll(`parent/${id}/`)) pending.push(child);
    }
    for (const id of order.reverse()) await this.revokeOne(id);
  }

  /** Revokes every token issued by logins through one auth mount, with their children. */
  async revokeByMount(mountAccessor: string): Promise<number> {
    const ids = await this.listAll(`mount/${mountAccessor}/`);
    for (const id of ids) {
      const entry = await this.lookupById(id);
      if (entry) await this.revokeTree(entry);
      else await this.storage.delete(`mount/${mountAccessor}/${id}`);
    }
    return ids.length;
  }

  /** Revokes only this token; its children become orphans. */
  async revokeOrphan(entry: TokenEntry): Promise<void> {
    for (const childId of await this.listAll(`parent/${entry.id}/`)) {
      const child = await getJson<TokenEntry>(this.storage, `id/${childId}`);
      if (child) await this.save({ ...child, parent: '', orphan: true });
      await this.storage.delete(`parent/${entry.id}/${childId}`);
    }
    await this.revokeOne(entry.id);
  }

  /** Lists token accessors, paginated. */
  listAccessors(options: { after?: string; limit?: number }): Promise<string[]> {
    return this.storage.list('accessor/', options);
  }

  /** Checks that a caller without root may give a child these policies. */
  static checkPolicySubset(parent: TokenEntry, requested: string[]): void {
    if (parent.policies.includes('root')) return;
    const missing = requested.filter((p) => p !== 'default' && !parent.policies.includes(p));
    if (missing.length > 0) {
      throw new BadRequestError(`child policies must be a subset of the parent's; the parent lacks: ${missing.join(', ')}`);
    }
  }

  private async revokeOne(id: string): Promise<void> {
    const entry = this.cache.get(id) ?? (await getJson<TokenEntry>(this.storage, `id/${id}`));
    this.cache.delete(id);
    if (!entry) return;
    const ops: Parameters<Storage['transaction']>[0] = [
      { op: 'delete', key: `id/${id}` },
      { op: 'delete', key: `accessor/${entry.accessor}` },
    ];
    if (entry.parent) ops.push({ op: 'delete', key: `parent/${entry.parent}/${id}` });
    if (entry.mountAccessor) ops.push({ op: 'delete', key: `mount/${entry.mountAccessor}/${id}` });
    await this.storage.transaction(ops);
    await this.onRevoke?.(id);
  }

  private async listAll(prefix: string): Promise<string[]> {
    const all: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.storage.list(prefix, { after, limit: 1000 });
      all.push(...page);
      if (page.length < 1000) return all;
      after = page[page.length - 1];
    }
  }

  private async save(entry: TokenEntry): Promise<void> {
    await putJson(this.storage, `id/${entry.id}`, entry);
    this.remember(entry);
  }

  private remember(entry: TokenEntry): void {
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(entry.id, entry);
  }
}

function encode(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}
