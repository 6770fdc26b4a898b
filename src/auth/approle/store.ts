import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { ListOptions } from '../../storage/physical.js';
import { getJson, putJson, type Storage } from '../../storage/storage.js';
import { KeyedLock } from '../../framework/keyed-lock.js';
import type { TokenSettings } from '../common/token-fields.js';

/** An AppRole as stored under `role/NAME`. Durations are seconds. */
export interface RoleEntry {
  /** Lower-cased role name. */
  name: string;
  roleId: string;
  bindSecretId: boolean;
  secretIdBoundCidrs: string[];
  /** Default uses of a new secret ID; 0 means unlimited. */
  secretIdNumUses: number;
  /** Default TTL of a new secret ID; 0 means no expiry. */
  secretIdTtl: number;
  localSecretIds: boolean;
  token: TokenSettings;
  /**
   * Random storage folder of this role's secret IDs. A role deleted and created again under the
   * same name gets a new folder, so secret IDs of the old role can never log in to the new one.
   */
  secretIdFolder: string;
}

/** A secret ID as stored. The secret ID itself is never stored, only its HMAC. */
export interface SecretIdEntry {
  /** Hex HMAC-SHA256 of the secret ID under the mount's salt. */
  hmac: string;
  accessor: string;
  cidrList: string[];
  tokenBoundCidrs: string[];
  metadata: Record<string, string>;
  /** Remaining uses; 0 means unlimited. */
  numUses: number;
  /** Seconds the secret ID was issued for; 0 means no expiry. */
  ttl: number;
  /** Milliseconds since the epoch. */
  creationTime: number;
  /** Milliseconds since the epoch; 0 means no expiry. */
  expirationTime: number;
  /** Milliseconds since the epoch. */
  lastUpdatedTime: number;
}

/** Reason a presented secret ID was rejected. It is logged and never sent to the caller. */
export type SecretIdRejection = 'unknown' | 'expired' | 'cidr_list' | 'token_bound_cidrs';

// Storage keys, relative to the mount's view.
const SALT_KEY = 'salt';
const roleKey = (name: string) => `role/${name}`;
const roleIdKey = (roleIdHmac: string) => `role-id/${roleIdHmac}`;
const secretIdKey = (folder: string, hmac: string) => `secret-id/${folder}/${hmac}`;
const accessorKey = (folder: string, accessor: string) => `accessor/${folder}/${accessor}`;

const DELETE_BATCH = 500;

/**
 * AppRole's storage: roles, the role ID index, and secret IDs with their accessors. Role IDs and
 * secret IDs are looked up by an HMAC under a random per-mount salt, so storage contains neither
 * the secret IDs nor a way to test guesses without the salt.
 */
export class AppRoleStore {
  private salt: Promise<Buffer> | null = null;
  /** Serializes role writes, which also keep the role ID index unique. */
  readonly roleLock = new KeyedLock();
  /** Serializes the use, destruction and tidying of each secret ID, keyed by folder and HMAC. */
  readonly secretIdLock = new KeyedLock();

  constructor(readonly storage: Storage) {}

  /** Returns the hex HMAC-SHA256 of a role ID or secret ID; `kind` keeps the two apart. */
  async hmac(kind: 'role-id' | 'secret-id', value: string): Promise<string> {
    const salt = await this.loadSalt();
    return createHmac('sha256', salt).update(`${kind}\0${value}`).digest('hex');
  }

  private loadSalt(): Promise<Buffer> {
    this.salt ??= (async () => {
      const stored = await this.storage.get(SALT_KEY);
      if (stored !== null) return stored;
      const created = randomBytes(32);
      await this.storage.put(SALT_KEY, created);
      return created;
    })();
    // A failed load is retried by the next call instead of being remembered.
    this.salt.catch(() => (this.salt = null));
    return this.salt;
  }

  getRole(name: string): Promise<RoleEntry | null> {
    return getJson<RoleEntry>(this.storage, roleKey(name));
  }

  listRoles(page: ListOptions): Promise<string[]> {
    return this.storage.list('role/', page);
  }

  /** Returns the name of the role that owns a role ID, or null. */
  async roleNameForRoleId(roleId: string): Promise<string | null> {
    const hmac = await this.hmac('role-id', roleId);
    const index = await getJson<{ roleName: string; hmac: string }>(this.storage, roleIdKey(hmac));
    if (index === null || !sameHex(index.hmac, hmac)) return null;
    return index.roleName;
  }

  /**
   * Writes a role and moves its role ID index entry when the role ID changed, in one transaction.
   * The caller must hold `roleLock` and has checked that a new role ID is unused.
   */
  async putRole(role: RoleEntry, previousRoleId: string | null): Promise<void> {
    const hmac = await this.hmac('role-id', role.roleId);
    const ops: Parameters<Storage['transaction']>[0] = [
      { op: 'put', key: roleKey(role.name), value: encode(role) },
      { op: 'put', key: roleIdKey(hmac), value: encode({ roleName: role.name, hmac }) },
    ];
    if (previousRoleId !== null && previousRoleId !== role.roleId) {
      ops.push({ op: 'delete', key: roleIdKey(await this.hmac('role-id', previousRoleId)) });
    }
    await this.storage.transaction(ops);
  }

  /** Deletes a role, its role ID index entry and every secret ID it issued. */
  async deleteRole(role: RoleEntry): Promise<void> {
    const roleIdHmac = await this.hmac('role-id', role.roleId);
    await this.storage.transaction([
      { op: 'delete', key: roleKey(role.name) },
      { op: 'delete', key: roleIdKey(roleIdHmac) },
    ]);
    await this.deleteFolder(`secret-id/${role.secretIdFolder}/`);
    await this.deleteFolder(`accessor/${role.secretIdFolder}/`);
  }

  private async deleteFolder(prefix: string): Promise<void> {
    for (;;) {
      const keys = await this.storage.list(prefix, { limit: DELETE_BATCH });
      if (keys.length === 0) return;
      await this.storage.transaction(keys.map((key) => ({ op: 'delete' as const, key: prefix + key })));
    }
  }

  /**
   * Stores a new secret ID for the role. Returns null when the same secret ID is already stored,
   * which only a custom secret ID can cause.
   */
  async createSecretId(
    role: RoleEntry,
    secretId: string,
    settings: Pick<SecretIdEntry, 'cidrList' | 'tokenBoundCidrs' | 'metadata' | 'numUses' | 'ttl'>,
  ): Promise<SecretIdEntry | null> {
    const hmac = await this.hmac('secret-id', secretId);
    return this.secretIdLock.run(`${role.secretIdFolder}/${hmac}`, async () => {
      if ((await this.storage.get(secretIdKey(role.secretIdFolder, hmac))) !== null) return null;

      const now = Date.now();
      const entry: SecretIdEntry = {
        ...settings,
        hmac,
        accessor: randomUUID(),
        creationTime: now,
        expirationTime: settings.ttl > 0 ? now + settings.ttl * 1000 : 0,
        lastUpdatedTime: now,
      };
      await this.storage.transaction([
        { op: 'put', key: secretIdKey(role.secretIdFolder, hmac), value: encode(entry) },
        { op: 'put', key: accessorKey(role.secretIdFolder, entry.accessor), value: encode({ hmac }) },
      ]);
      return entry;
    });
  }

  /** Finds a secret ID entry by the secret ID; expired entries are returned as they are. */
  async findSecretId(role: RoleEntry, secretId: string): Promise<SecretIdEntry | null> {
    const hmac = await this.hmac('secret-id', secretId);
    return this.readSecretId(role, hmac);
  }

  /** Finds a secret ID entry by its accessor. */
  async findByAccessor(role: RoleEntry, accessor: string): Promise<SecretIdEntry | null> {
    if (accessor === '' || accessor.includes('/')) return null;
    const index = await getJson<{ hmac: string }>(this.storage, accessorKey(role.secretIdFolder, accessor));
    if (index === null) return null;
    return this.readSecretId(role, index.hmac);
  }

  private async readSecretId(role: RoleEntry, hmac: string): Promise<SecretIdEntry | null> {
    const entry = await getJson<SecretIdEntry>(this.storage, secretIdKey(role.secretIdFolder, hmac));
    if (entry === null || !sameHex(entry.hmac, hmac)) return null;
    return entry;
  }

  listAccessors(role: RoleEntry, page: ListOptions): Promise<string[]> {
    return this.storage.list(`accessor/${role.secretIdFolder}/`, page);
  }

  /** Deletes a secret ID and its accessor; a missing entry is not an error. */
  async destroySecretId(role: RoleEntry, entry: SecretIdEntry): Promise<void> {
    await this.secretIdLock.run(`${role.secretIdFolder}/${entry.hmac}`, () => this.removeSecretId(role.secretIdFolder, entry));
  }

  private removeSecretId(folder: string, entry: SecretIdEntry): Promise<void> {
    return this.storage.transaction([
      { op: 'delete', key: secretIdKey(folder, entry.hmac) },
      { op: 'delete', key: accessorKey(folder, entry.accessor) },
    ]);
  }

  /**
   * Checks a presented secret ID and uses it once, under the secret ID's lock so that concurrent
   * logins cannot spend the same use twice. The CIDR checks run before the use is counted, so a
   * login from a refused address spends nothing. An expired entry is deleted. The last use
   * deletes the entry.
   */
  async useSecretId(
    role: RoleEntry,
    secretId: string,
    checkAddress: (cidrs: string[]) => boolean,
  ): Promise<{ entry: SecretIdEntry } | { rejected: SecretIdRejection }> {
    const hmac = await this.hmac('secret-id', secretId);
    return this.secretIdLock.run(`${role.secretIdFolder}/${hmac}`, async () => {
      const entry = await this.readSecretId(role, hmac);
      if (entry === null) return { rejected: 'unknown' };

      const now = Date.now();
      if (entry.expirationTime !== 0 && entry.expirationTime <= now) {
        await this.removeSecretId(role.secretIdFolder, entry);
        return { rejected: 'expired' };
      }
      if (!checkAddress(entry.cidrList)) return { rejected: 'cidr_list' };
      if (!checkAddress(entry.tokenBoundCidrs)) return { rejected: 'token_bound_cidrs' };

      if (entry.numUses === 1) {
        await this.removeSecretId(role.secretIdFolder, entry);
      } else if (entry.numUses > 1) {
        await putJson(this.storage, secretIdKey(role.secretIdFolder, hmac), { ...entry, numUses: entry.numUses - 1, lastUpdatedTime: now });
      }
      return { entry };
    });
  }

  /**
   * Deletes expired secret IDs, accessors that point at no secret ID, and the secret ID folders
   * of roles that no longer exist. Returns the number of entries deleted.
   */
  async tidy(): Promise<number> {
    const liveFolders = new Set<string>();
    for (const name of await listAll(this.storage, 'role/')) {
      const role = await this.getRole(name);
      if (role) liveFolders.add(role.secretIdFolder);
    }

    let deleted = 0;
    const folders = new Set([...(await listAll(this.storage, 'secret-id/')), ...(await listAll(this.storage, 'accessor/'))]);
    for (const folderWithSlash of folders) {
      const folder = folderWithSlash.replace(/\/$/, '');
      if (!liveFolders.has(folder)) {
        deleted += await this.countAndDeleteFolder(`secret-id/${folder}/`);
        deleted += await this.countAndDeleteFolder(`accessor/${folder}/`);
        continue;
      }
      deleted += await this.tidyFolder(folder);
    }
    return deleted;
  }

  private async tidyFolder(folder: string): Promise<number> {
    let deleted = 0;
    for (const hmac of await listAll(this.storage, `secret-id/${folder}/`)) {
      await this.secretIdLock.run(`${folder}/${hmac}`, async () => {
        const entry = await getJson<SecretIdEntry>(this.storage, secretIdKey(folder, hmac));
        if (entry && entry.expirationTime !== 0 && entry.expirationTime <= Date.now()) {
          await this.removeSecretId(folder, entry);
          deleted += 1;
        }
      });
    }
    for (const accessor of await listAll(this.storage, `accessor/${folder}/`)) {
      const index = await getJson<{ hmac: string }>(this.storage, accessorKey(folder, accessor));
      if (index === null) continue;
      await this.secretIdLock.run(`${folder}/${index.hmac}`, async () => {
        if ((await this.storage.get(secretIdKey(folder, index.hmac))) === null) {
          await this.storage.delete(accessorKey(folder, accessor));
          deleted += 1;
        }
      });
    }
    return deleted;
  }

  private async countAndDeleteFolder(prefix: string): Promise<number> {
    const count = (await listAll(this.storage, prefix)).length;
    await this.deleteFolder(prefix);
    return count;
  }
}

/** Lists every child of a prefix, page by page. */
async function listAll(storage: Storage, prefix: string): Promise<string[]> {
  const names: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await storage.list(prefix, { after, limit: 1000 });
    names.push(...page);
    if (page.length < 1000) return names;
    after = page[page.length - 1];
  }
}

function sameHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

function encode(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}
