import type { Logger } from 'pino';
import type { Physical } from '../storage/physical.js';
import { randomUUID } from 'node:crypto';
import { getJson, putJson, StorageView } from '../storage/storage.js';
import { BackendRouter } from '../framework/backend.js';
import type { Backend, BackendContext, LogicalRequest } from '../framework/types.js';
import { ExpirationManager } from './expiration/manager.js';
import { BadRequestError } from '../errors.js';
import { AesGcmBarrier } from './barrier/aes-gcm.js';
import { SealManager } from './seal/manager.js';
import { PolicyStore } from './policy/store.js';
import { AuditBroker } from './audit/broker.js';
import { TokenStore, type TokenEntry } from './token/store.js';
import { tokenPaths } from './token/paths.js';
import { TokenRoleStore } from './token/roles.js';
import { tidyTokenIndexes } from './token/tidy.js';
import { MountTable, type MountEntry } from './router/table.js';
import { ResponseWrapper } from './wrapping/wrap.js';
import { MountManager, clearPrefix, resolveAuthType, resolveEngineType, systemViewFor, type TtlDefaults } from './mounts.js';
import { systemBackend } from './sys/backend.js';
import type { Answer, RequestHandler } from './answer.js';
import { handleRequest } from './pipeline.js';

export interface CoreOptions {
  physical: Physical;
  logger: Logger;
  ttl: TtlDefaults;
  /** The storage type reported by sys/seal-status. */
  storageType: string;
  apiAddr?: string;
}

/** A request's destination: the backend router and the mount it belongs to. */
export interface Route {
  router: BackendRouter;
  entry: MountEntry;
  /** Full mount path as seen in URLs, e.g. `auth/token/`. */
  mountPoint: string;
  relativePath: string;
}

/**
 * The server's state: the barrier and seal, and once unsealed the mount tables, token store,
 * policies and audit devices. `handleRequest` runs the request pipeline.
 */
export class Core implements RequestHandler {
  readonly logger: Logger;
  readonly barrier: AesGcmBarrier;
  readonly seal: SealManager;
  readonly ttl: TtlDefaults;
  readonly storageType: string;
  readonly apiAddr?: string;

  readonly mountTable: MountTable;
  readonly authTable: MountTable;
  readonly mounts: MountManager;
  readonly authMounts: MountManager;
  readonly tokens: TokenStore;
  readonly policies: PolicyStore;
  readonly audit: AuditBroker;
  readonly wrapper: ResponseWrapper;
  readonly expiration: ExpirationManager;

  private readonly systemRouter: BackendRouter;
  private readonly tokenRouter: BackendRouter;
  private readonly physical: Physical;
  private activeSince: Date | null = null;
  private cluster: { cluster_name: string; cluster_id: string } | null = null;

  constructor(options: CoreOptions) {
    this.physical = options.physical;
    this.logger = options.logger;
    this.ttl = options.ttl;
    this.storageType = options.storageType;
    this.apiAddr = options.apiAddr;

    this.barrier = new AesGcmBarrier(options.physical);
    this.seal = new SealManager(options.physical, this.barrier);
    this.mountTable = new MountTable(this.barrier, 'mounts');
    this.authTable = new MountTable(this.barrier, 'auth');
    this.mounts = new MountManager(this.barrier, this.mountTable, this.logger, this.ttl);
    this.authMounts = new MountManager(this.barrier, this.authTable, this.logger, this.ttl);
    this.tokens = new TokenStore(new StorageView(this.barrier, 'sys/token/'));
    this.policies = new PolicyStore(new StorageView(this.barrier, 'sys/policies/'));
    this.wrapper = new ResponseWrapper(this.tokens, () => this.cubbyholeStorage());
    this.expiration = new ExpirationManager({
      storage: new StorageView(this.barrier, 'sys/expire/'),
      logger: this.logger.child({ component: 'expiration' }),
      resolveMount: (mountPoint) => this.liveMount(mountPoint),
      revokeToken: async (tokenId) => {
        const entry = await this.tokens.lookupById(tokenId, { allowExhausted: true });
        if (entry) await this.tokens.revokeTree(entry);
      },
      tokenExists: async (tokenId) => (await this.tokens.lookupById(tokenId, { allowExhausted: true })) !== null,
    });
    this.tokens.onRevoke = async (tokenId) => {
      await this.expiration.revokeByToken(tokenId);
      await clearPrefix(this.cubbyholeStorage(), `${tokenId}/`);
    };
    this.tokens.onExpiryChange = (entry) =>
      this.expiration.registerToken({ tokenId: entry.id, creationPath: entry.path, expireTime: entry.expireTime });
    this.audit = new AuditBroker(new StorageView(this.barrier, 'sys/audit/'), this.logger.child({ component: 'audit' }));

    this.systemRouter = new BackendRouter(systemBackend(this), this.internalContext('sys/', 'system'));
    this.tokenRouter = new BackendRouter({ paths: tokenPaths(this.tokens, new TokenRoleStore(new StorageView(this.barrier, 'sys/token/')), { checkAuthRenewal: (entry) => this.checkAuthRenewal(entry), tidy: () => this.tidyTokens() }), rootPaths: ['revoke-orphan', 'accessors/*', 'accessors'] }, this.internalContext('auth/token/', 'token'));
  }

  get sealed(): boolean {
    return this.barrier.sealed;
  }

  get activeTime(): Date | null {
    return this.activeSince;
  }

  handleRequest(req: LogicalRequest): Promise<Answer> {
    return handleRequest(this, req);
  }

  /**
   * Initializes the seal and the barrier, creates the root token, and leaves the server sealed,
   * as Vault does. Returns the unseal key shares and the root token.
   */
  async initialize(shares: number, threshold: number): Promise<{ keys: string[]; keysBase64: string[]; rootToken: string }> {
    // The seal manager leaves the barrier unsealed after initializing, so the root token and the
    // default mounts can be written before sealing again.
    const result = await this.seal.initialize({ secretShares: shares, secretThreshold: threshold });
    try {
      await this.postUnseal();
      const { token } = await this.tokens.create({ policies: ['root'], path: 'auth/token/root', ttl: 0, displayName: 'root' });
      return { keys: result.keys, keysBase64: result.keysBase64, rootToken: token };
    } finally {
      await this.sealServer();
    }
  }

  /** Submits one unseal key share; when the threshold is met, unseals and loads state. */
  async unseal(key: string, reset: boolean): Promise<void> {
    const wasSealed = this.sealed;
    await this.seal.submitShare(key, { reset });
    if (wasSealed && !this.sealed) {
      await this.postUnseal();
      this.logger.info('unsealed; serving requests');
    }
  }

  /** Dev mode: initializes with one share, unseals, and creates a root token with a chosen value. */
  async initializeForDev(rootTokenId?: string): Promise<{ unsealKey: string; rootToken: string }> {
    const { unsealKey } = await this.seal.initializeAndUnsealForDev();
    await this.postUnseal();
    const { token } = await this.tokens.create({ policies: ['root'], path: 'auth/token/root', ttl: 0, displayName: 'root', tokenValue: rootTokenId });
    return { unsealKey, rootToken: token };
  }

  /** Loads everything the barrier protects; runs after each unseal. */
  private async postUnseal(): Promise<void> {
    await this.mountTable.load();
    if (!this.mountTable.get('sys/')) await this.mountTable.add(defaultEntry('sys/', 'system', 'system endpoints used for control, policy and debugging'));
    if (!this.mountTable.get('cubbyhole/')) await this.mountTable.add(defaultEntry('cubbyhole/', 'cubbyhole', 'per-token private secret storage'));
    const hadAuth = await this.authTable.load();
    if (!hadAuth) await this.authTable.add(defaultEntry('token/', 'token', 'token based credentials'));
    await this.tokens.load();
    await this.loadClusterInfo();
    await this.audit.load();
    await this.mounts.startAll();
    await this.authMounts.startAll();
    await this.expiration.start();
    this.activeSince = new Date();
  }

  /** Returns the cubbyhole mount's storage, where each token's keys live under its id. */
  private cubbyholeStorage(): StorageView {
    const entry = this.mountTable.get('cubbyhole/');
    if (!entry) throw new Error('the cubbyhole mount is missing from the mount table');
    return new StorageView(this.barrier, `logical/${entry.uuid}/`);
  }

  /** Cluster name and id, as sys/health and sys/seal-status report them once unsealed. */
  clusterInfo(): { cluster_name: string; cluster_id: string } | Record<string, never> {
    return this.cluster ?? {};
  }

  private async loadClusterInfo(): Promise<void> {
    this.cluster = await getJson(this.barrier, 'core/cluster');
    if (this.cluster) return;
    const id = randomUUID();
    this.cluster = { cluster_name: `coffer-cluster-${id.slice(0, 8)}`, cluster_id: id };
    await putJson(this.barrier, 'core/cluster', this.cluster);
  }

  /** Applies a tuned mount entry to its running backend. */
  retuneMount(table: MountTable, entry: MountEntry): void {
    if (table === this.mountTable) this.mounts.retune(entry);
    else this.authMounts.retune(entry);
  }

  /** True when the policies grant any capability on some path under the mount. */
  async canUseMount(policies: string[], mountPath: string): Promise<boolean> {
    if (policies.includes('root')) return true;
    const acl = await this.policies.acl(policies);
    return acl.hasAnyCapabilityUnder(mountPath);
  }

  /** Seals the server: stops backends and drops keys and cached state. */
  async sealServer(): Promise<void> {
    await this.expiration.stop();
    await this.mounts.stopAll();
    await this.authMounts.stopAll();
    await this.audit.close();
    this.tokens.unload();
    await this.seal.seal();
    this.activeSince = null;
  }

  /** Mounts a secrets engine. */
  async mountEngine(path: string, input: { type: string; description?: string; config?: Partial<MountEntry['config']>; options?: Record<string, string>; local?: boolean; sealWrap?: boolean }): Promise<MountEntry> {
    const resolved = resolveEngineType(input.type, input.options ?? {});
    const entry = await this.mountTable.add({
      path,
      type: resolved.type,
      description: input.description ?? '',
      config: { defaultLeaseTtl: input.config?.defaultLeaseTtl ?? 0, maxLeaseTtl: input.config?.maxLeaseTtl ?? 0 },
      options: resolved.options,
      local: input.local ?? false,
      sealWrap: input.sealWrap ?? false,
    });
    try {
      await this.mounts.start(entry);
    } catch (err) {
      await this.mountTable.remove(entry.path);
      throw err;
    }
    return entry;
  }

  /** Unmounts a secrets engine and deletes its data. */
  async unmountEngine(path: string): Promise<void> {
    const entry = this.mountTable.get(path);
    if (!entry) return;
    if (entry.type === 'system' || entry.type === 'cubbyhole') throw new BadRequestError(`cannot unmount "${entry.path}"`);
    await this.expiration.revokePrefix(entry.path, { force: false });
    await this.mountTable.remove(entry.path);
    await this.mounts.stop(entry, { purge: true });
  }

  /** Moves a secrets engine to a new path; its data stays where it is. */
  async remountEngine(from: string, to: string): Promise<void> {
    const entry = this.mountTable.get(from);
    if (!entry) throw new BadRequestError(`no secrets engine is mounted at "${from}"`);
    if (entry.type === 'system' || entry.type === 'cubbyhole') throw new BadRequestError(`cannot remount "${entry.path}"`);
    const moved = { ...entry, path: to };
    await this.mountTable.update(entry.path, moved);
    this.mounts.rename(entry.path, this.mountTable.get(to)!);
  }

  /** Enables an auth method under `auth/PATH`. */
  async enableAuth(path: string, input: { type: string; description?: string; config?: Partial<MountEntry['config']>; options?: Record<string, string>; local?: boolean }): Promise<MountEntry> {
    if (input.type === 'token') throw new BadRequestError('the token auth method is always enabled at "auth/token/"');
    const entry = await this.authTable.add({
      path,
      type: resolveAuthType(input.type),
      description: input.description ?? '',
      config: { defaultLeaseTtl: input.config?.defaultLeaseTtl ?? 0, maxLeaseTtl: input.config?.maxLeaseTtl ?? 0, tokenType: input.config?.tokenType },
      options: input.options ?? {},
      local: input.local ?? false,
      sealWrap: false,
    });
    try {
      await this.authMounts.start(entry);
    } catch (err) {
      await this.authTable.remove(entry.path);
      throw err;
    }
    return entry;
  }

  /** Disables an auth method: revokes every token it issued, then deletes its data. */
  async disableAuth(path: string): Promise<void> {
    const entry = this.authTable.get(path);
    if (!entry) return;
    if (entry.type === 'token') throw new BadRequestError('the token auth method cannot be disabled');
    await this.tokens.revokeByMount(entry.accessor);
    await this.authTable.remove(entry.path);
    await this.authMounts.stop(entry, { purge: true });
  }

  /**
   * Lets the auth method that issued a login token refuse its renewal, for example because the
   * role or user was deleted. A token whose auth method is gone cannot be renewed.
   */
  private async checkAuthRenewal(entry: TokenEntry): Promise<void> {
    const mountEntry = this.authTable.list().find((candidate) => candidate.accessor === entry.mountAccessor);
    const mount = mountEntry ? this.authMounts.get(mountEntry.path) : undefined;
    if (!mount) throw new BadRequestError('the auth method that issued this token is no longer enabled');
    await mount.backend.renewAuth?.({ internalData: entry.authInternal ?? {}, metadata: entry.meta, backend: mount.router.context });
  }

  /** Removes dangling token indexes, then leases whose tokens are gone. */
  private async tidyTokens(): Promise<void> {
    await tidyTokenIndexes(new StorageView(this.barrier, 'sys/token/'), this.logger.child({ component: 'token-tidy' }));
    await this.expiration.tidy();
  }

  /** Finds the running backend of a full mount point such as `database/` or `auth/approle/`. */
  liveMount(mountPoint: string): { backend: Backend; context: BackendContext } | null {
    const mount = mountPoint.startsWith('auth/') ? this.authMounts.get(mountPoint.slice(5)) : this.mounts.get(mountPoint);
    return mount ? { backend: mount.backend, context: mount.router.context } : null;
  }

  /** Finds the backend for a request path. */
  route(path: string): Route | null {
    if (path === 'sys' || path.startsWith('sys/')) {
      return { router: this.systemRouter, entry: this.mountTable.get('sys/') ?? defaultEntry('sys/', 'system', ''), mountPoint: 'sys/', relativePath: path.slice(4) };
    }
    if (path === 'auth/token' || path.startsWith('auth/token/')) {
      return { router: this.tokenRouter, entry: this.authTable.get('token/') ?? defaultEntry('token/', 'token', ''), mountPoint: 'auth/token/', relativePath: path.slice('auth/token/'.length) };
    }
    if (path.startsWith('auth/')) {
      const authEntry = this.authTable.match(path.slice(5));
      const authMount = authEntry ? this.authMounts.get(authEntry.path) : undefined;
      if (!authEntry || !authMount) return null;
      return { router: authMount.router, entry: authEntry, mountPoint: `auth/${authEntry.path}`, relativePath: path.slice(5 + authEntry.path.length) };
    }
    const entry = this.mountTable.match(path);
    const mount = entry ? this.mounts.get(entry.path) : undefined;
    if (!entry || !mount) return null;
    return { router: mount.router, entry, mountPoint: entry.path, relativePath: path.slice(entry.path.length) };
  }

  private internalContext(mountPoint: string, mountType: string): BackendContext {
    const entry = defaultEntry(mountPoint, mountType, '');
    return {
      storage: new StorageView(this.barrier, `sys/${mountType}-backend/`),
      logger: this.logger.child({ mount: mountPoint }),
      system: systemViewFor(entry, this.ttl),
      mountPoint,
      mountType,
      options: {},
    };
  }
}

function defaultEntry(path: string, type: string, description: string): MountEntry {
  return {
    path,
    type,
    description,
    uuid: '',
    accessor: '',
    config: { defaultLeaseTtl: 0, maxLeaseTtl: 0 },
    options: {},
    local: false,
    sealWrap: false,
  } as MountEntry;
}
