import { randomUUID } from 'node:crypto';
import { BadRequestError, NotFoundError } from '../../errors.js';
import { getJson, putJson, type Storage } from '../../storage/storage.js';
import type { KeyType, StoredKey } from './keys.js';

/** Issuer usages, by Vault's names. */
export const ISSUER_USAGES = ['read-only', 'issuing-certificates', 'crl-signing', 'ocsp-signing'] as const;

/** Vault's three treatments of a leaf TTL that would outlive the issuer. */
export type LeafNotAfterBehavior = 'err' | 'truncate' | 'permit';

/** A CA certificate the mount can issue from, with its key when the mount stores it. */
export interface StoredIssuer {
  id: string;
  name: string;
  keyId: string;
  /** PEM of the issuer's own certificate. */
  certificate: string;
  /** PEMs of the certificates above this issuer, nearest first, without the issuer itself. */
  caChain: string[];
  usage: string[];
  leafNotAfterBehavior: LeafNotAfterBehavior;
  /** Serial of the issuer's certificate in Vault's colon form. */
  serial: string;
}

/** A certificate issued by the mount, stored by serial unless the role sets `no_store`. */
export interface StoredCert {
  serial: string;
  certificate: string;
  issuerId: string;
  /** Seconds since the epoch; absent while the certificate is valid. */
  revocationTime?: number;
  /** Milliseconds since the epoch, from the certificate's NotAfter. */
  notAfter: number;
}

/** The mount's `config/urls`. */
export interface UrlConfig {
  issuing_certificates: string[];
  crl_distribution_points: string[];
  ocsp_servers: string[];
}

/** The mount's `config/crl`. */
export interface CrlConfig {
  /** A duration string as the caller wrote it, such as "72h". */
  expiry: string;
  disable: boolean;
  ocsp_disable: boolean;
  auto_rebuild: boolean;
  auto_rebuild_grace_period: string;
}

/** The mount's `config/issuers`: the default issuer and key. */
export interface DefaultsConfig {
  defaultIssuer: string;
  defaultKey: string;
  defaultFollowsLatestIssuer: boolean;
}

/** A CRL as last built for one issuer. */
export interface StoredCrl {
  der: string;
  number: number;
  /** Milliseconds since the epoch. */
  nextUpdate: number;
}

export const DEFAULT_CRL_CONFIG: CrlConfig = {
  expiry: '72h',
  disable: false,
  ocsp_disable: false,
  auto_rebuild: false,
  auto_rebuild_grace_period: '12h',
};

/** Storage keys of the engine, all inside the mount's view. */
const KEYS = {
  issuer: (id: string) => `config/issuer/${id}`,
  issuers: 'config/issuer/',
  key: (id: string) => `config/key/${id}`,
  keys: 'config/key/',
  defaults: 'config/issuers',
  urls: 'config/urls',
  crlConfig: 'config/crl',
  crl: (issuerId: string) => `crls/${issuerId}`,
  role: (name: string) => `role/${name}`,
  roles: 'role/',
  cert: (serial: string) => `certs/${serial.replace(/:/g, '-')}`,
  certs: 'certs/',
  revoked: (serial: string) => `revoked/${serial.replace(/:/g, '-')}`,
  revokedList: 'revoked/',
};

/** Typed access to everything the PKI engine stores in its mount. */
export class PkiStore {
  constructor(readonly storage: Storage) {}

  async listIssuers(): Promise<StoredIssuer[]> {
    const ids = await this.storage.list(KEYS.issuers);
    const issuers = await Promise.all(ids.map((id) => getJson<StoredIssuer>(this.storage, KEYS.issuer(id))));
    return issuers.filter((issuer): issuer is StoredIssuer => issuer !== null);
  }

  getIssuer(id: string): Promise<StoredIssuer | null> {
    return getJson<StoredIssuer>(this.storage, KEYS.issuer(id));
  }

  putIssuer(issuer: StoredIssuer): Promise<void> {
    return putJson(this.storage, KEYS.issuer(issuer.id), issuer);
  }

  async deleteIssuer(id: string): Promise<void> {
    await this.storage.delete(KEYS.issuer(id));
    await this.storage.delete(KEYS.crl(id));
  }

  /**
   * Finds an issuer by `default`, id or name. Throws 400 naming the reference when none matches,
   * because an unknown issuer is a mistake in the request.
   */
  async resolveIssuer(ref: string | undefined): Promise<StoredIssuer> {
    const requested = ref === undefined || ref === '' ? 'default' : ref;
    if (requested === 'default') {
      const defaults = await this.defaults();
      const issuer = defaults.defaultIssuer ? await this.getIssuer(defaults.defaultIssuer) : null;
      if (!issuer) throw new BadRequestError('no default issuer is configured: generate or import a CA first, or set issuer_ref');
      return issuer;
    }
    const byId = await this.getIssuer(requested);
    if (byId) return byId;
    const byName = (await this.listIssuers()).find((issuer) => issuer.name === requested);
    if (!byName) throw new BadRequestError(`unknown issuer "${requested.slice(0, 80)}": use an issuer id, name or "default"`);
    return byName;
  }

  async listKeys(): Promise<StoredKey[]> {
    const ids = await this.storage.list(KEYS.keys);
    const keys = await Promise.all(ids.map((id) => getJson<StoredKey>(this.storage, KEYS.key(id))));
    return keys.filter((key): key is StoredKey => key !== null);
  }

  getKey(id: string): Promise<StoredKey | null> {
    return getJson<StoredKey>(this.storage, KEYS.key(id));
  }

  /** Finds a key by `default`, id or name; throws 400 when none matches. */
  async resolveKey(ref: string | undefined): Promise<StoredKey> {
    const requested = ref === undefined || ref === '' ? 'default' : ref;
    if (requested === 'default') {
      const defaults = await this.defaults();
      const key = defaults.defaultKey ? await this.getKey(defaults.defaultKey) : null;
      if (!key) throw new BadRequestError('no default key is configured: generate or import a key first, or set key_ref');
      return key;
    }
    const byId = await this.getKey(requested);
    if (byId) return byId;
    const byName = (await this.listKeys()).find((key) => key.name === requested);
    if (!byName) throw new BadRequestError(`unknown key "${requested.slice(0, 80)}": use a key id, name or "default"`);
    return byName;
  }

  /** Stores a new key and makes it the default key when there is none. */
  async addKey(pem: string, type: KeyType, bits: number, name = ''): Promise<StoredKey> {
    await this.checkNameFree('key', name);
    const key: StoredKey = { id: randomUUID(), name, type, bits, privateKeyPem: pem };
    await putJson(this.storage, KEYS.key(key.id), key);
    const defaults = await this.defaults();
    if (!defaults.defaultKey || !(await this.getKey(defaults.defaultKey))) {
      await this.putDefaults({ ...defaults, defaultKey: key.id });
    }
    return key;
  }

  putKey(key: StoredKey): Promise<void> {
    return putJson(this.storage, KEYS.key(key.id), key);
  }

  deleteKey(id: string): Promise<void> {
    return this.storage.delete(KEYS.key(id));
  }

  /**
   * Stores a new issuer. It becomes the default when there is no default yet, or when
   * `default_follows_latest_issuer` is set.
   */
  async addIssuer(fields: Omit<StoredIssuer, 'id' | 'usage' | 'leafNotAfterBehavior'> & { name: string }): Promise<StoredIssuer> {
    await this.checkNameFree('issuer', fields.name);
    const issuer: StoredIssuer = {
      id: randomUUID(),
      usage: [...ISSUER_USAGES],
      leafNotAfterBehavior: 'err',
      ...fields,
    };
    await this.putIssuer(issuer);
    const defaults = await this.defaults();
    const current = defaults.defaultIssuer ? await this.getIssuer(defaults.defaultIssuer) : null;
    if (!current || defaults.defaultFollowsLatestIssuer) await this.putDefaults({ ...defaults, defaultIssuer: issuer.id });
    return issuer;
  }

  /** Rejects a name that another issuer or key already uses; names must be unique per kind. */
  async checkNameFree(kind: 'issuer' | 'key', name: string, exceptId?: string): Promise<void> {
    if (name === '') return;
    if (name === 'default' || !/^[A-Za-z0-9_.-]+$/.test(name)) {
      throw new BadRequestError(`invalid ${kind} name "${name.slice(0, 80)}": use letters, digits, ".", "_" or "-", and not "default"`);
    }
    const existing = kind === 'issuer' ? await this.listIssuers() : await this.listKeys();
    if (existing.some((entry) => entry.name === name && entry.id !== exceptId)) {
      throw new BadRequestError(`${kind} name "${name}" is already in use: choose another name`);
    }
  }

  async defaults(): Promise<DefaultsConfig> {
    const stored = await getJson<DefaultsConfig>(this.storage, KEYS.defaults);
    return stored ?? { defaultIssuer: '', defaultKey: '', defaultFollowsLatestIssuer: false };
  }

  putDefaults(defaults: DefaultsConfig): Promise<void> {
    return putJson(this.storage, KEYS.defaults, defaults);
  }

  async urls(): Promise<UrlConfig> {
    const stored = await getJson<UrlConfig>(this.storage, KEYS.urls);
    return stored ?? { issuing_certificates: [], crl_distribution_points: [], ocsp_servers: [] };
  }

  putUrls(urls: UrlConfig): Promise<void> {
    return putJson(this.storage, KEYS.urls, urls);
  }

  async crlConfig(): Promise<CrlConfig> {
    return { ...DEFAULT_CRL_CONFIG, ...(await getJson<Partial<CrlConfig>>(this.storage, KEYS.crlConfig)) };
  }

  putCrlConfig(config: CrlConfig): Promise<void> {
    return putJson(this.storage, KEYS.crlConfig, config);
  }

  getCrl(issuerId: string): Promise<StoredCrl | null> {
    return getJson<StoredCrl>(this.storage, KEYS.crl(issuerId));
  }

  putCrl(issuerId: string, crl: StoredCrl): Promise<void> {
    return putJson(this.storage, KEYS.crl(issuerId), crl);
  }

  getRole<T>(name: string): Promise<T | null> {
    return getJson<T>(this.storage, KEYS.role(name));
  }

  putRole(name: string, role: unknown): Promise<void> {
    return putJson(this.storage, KEYS.role(name), role);
  }

  deleteRole(name: string): Promise<void> {
    return this.storage.delete(KEYS.role(name));
  }

  listRoles(): Promise<string[]> {
    return this.storage.list(KEYS.roles);
  }

  getCert(serial: string): Promise<StoredCert | null> {
    return getJson<StoredCert>(this.storage, KEYS.cert(serial));
  }

  putCert(cert: StoredCert): Promise<void> {
    return putJson(this.storage, KEYS.cert(cert.serial), cert);
  }

  deleteCert(serial: string): Promise<void> {
    return this.storage.delete(KEYS.cert(serial));
  }

  /** Lists stored serials in Vault's colon form, with paging. */
  async listCertSerials(page: { after?: string; limit?: number } = {}): Promise<string[]> {
    const after = page.after ? page.after.replace(/:/g, '-') : undefined;
    const names = await this.storage.list(KEYS.certs, { ...page, after });
    return names.map((name) => name.replace(/-/g, ':'));
  }

  /** Records a revocation; the certificate entry keeps the time as well. */
  async putRevoked(cert: StoredCert): Promise<void> {
    await this.storage.transaction([
      { op: 'put', key: KEYS.cert(cert.serial), value: Buffer.from(JSON.stringify(cert)) },
      { op: 'put', key: KEYS.revoked(cert.serial), value: Buffer.from(JSON.stringify(cert)) },
    ]);
  }

  getRevoked(serial: string): Promise<StoredCert | null> {
    return getJson<StoredCert>(this.storage, KEYS.revoked(serial));
  }

  async listRevoked(): Promise<StoredCert[]> {
    const names = await this.storage.list(KEYS.revokedList);
    const entries = await Promise.all(names.map((name) => getJson<StoredCert>(this.storage, `${KEYS.revokedList}${name}`)));
    return entries.filter((entry): entry is StoredCert => entry !== null);
  }

  deleteRevoked(serial: string): Promise<void> {
    return this.storage.delete(KEYS.revoked(serial));
  }
}

/** Throws 404 for a missing issuer reference in a path such as `issuer/REF`. */
export async function requireIssuer(store: PkiStore, ref: string): Promise<StoredIssuer> {
  try {
    return await store.resolveIssuer(ref);
  } catch (err) {
    if (err instanceof BadRequestError) throw new NotFoundError(err.message);
    throw err;
  }
}
