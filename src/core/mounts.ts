import type { Logger } from 'pino';
import { BackendRouter } from '../framework/backend.js';
import type { Backend, BackendContext, BackendFactory, SystemView } from '../framework/types.js';
import { BadRequestError } from '../errors.js';
import { StorageView, type Storage } from '../storage/storage.js';
import { kvBackend } from '../engines/kv/index.js';
import { pkiBackend } from '../engines/pki/index.js';
import { transitBackend } from '../engines/transit/index.js';
import { cubbyholeBackend } from '../engines/cubbyhole/index.js';
import { databaseBackend } from '../engines/database/index.js';
import { leaseTestBackend } from '../engines/lease-test/index.js';
import { approleBackend } from '../auth/approle/index.js';
import { userpassBackend } from '../auth/userpass/index.js';
import type { MountEntry, MountTable } from './router/table.js';
import { generatePasswordFromPolicy, PASSWORD_POLICY_STORAGE_PREFIX } from './password-policy/paths.js';

/** Secrets engine types that can be mounted, by Vault's type names. */
const ENGINE_FACTORIES: Record<string, BackendFactory> = {
  kv: kvBackend,
  pki: pkiBackend,
  transit: transitBackend,
  cubbyhole: cubbyholeBackend,
  database: databaseBackend,
  // A test-only engine whose leases revoke nothing, mountable only when the process starts with
  // COFFER_ENABLE_TEST_ENGINES=1, so a production server cannot mount it.
  ...(process.env.COFFER_ENABLE_TEST_ENGINES === '1' ? { 'lease-test': leaseTestBackend } : {}),
};

/** Auth method types that can be enabled under `auth/`, by Vault's type names. */
const AUTH_FACTORIES: Record<string, BackendFactory> = {
  approle: approleBackend,
  userpass: userpassBackend,
};

/** Checks that an auth method type exists. */
export function resolveAuthType(type: string): string {
  if (!(type in AUTH_FACTORIES)) {
    const known = ['token', ...Object.keys(AUTH_FACTORIES)].join(', ');
    throw new BadRequestError(`unknown auth method type "${type}"; supported types: ${known}`);
  }
  return type;
}

/** Type aliases Vault accepts when mounting: `kv-v2` is `kv` with version 2, `generic` is KV version 1. */
export function resolveEngineType(type: string, options: Record<string, string>): { type: string; options: Record<string, string> } {
  if (type === 'cubbyhole') throw new BadRequestError('cubbyhole cannot be mounted again: every token already has one at "cubbyhole/"');
  if (type === 'kv-v2') return { type: 'kv', options: { ...options, version: '2' } };
  if (type === 'kv-v1' || type === 'generic') return { type: 'kv', options: { ...options, version: options.version ?? '1' } };
  if (!(type in ENGINE_FACTORIES)) {
    throw new BadRequestError(`plugin not found in the catalog: ${type}; supported secrets engine types: ${Object.keys(ENGINE_FACTORIES).join(', ')}, kv-v2`);
  }
  return { type, options };
}

/** A mounted backend ready for routing. */
export interface LiveMount {
  entry: MountEntry;
  backend: Backend;
  router: BackendRouter;
  /** Storage prefix of the mount inside the barrier, cleared on unmount. */
  storagePrefix: string;
}

/** Server-wide TTL limits that every mount's system view falls back to and is capped by. */
export interface TtlDefaults {
  defaultLeaseTtl: number;
  maxLeaseTtl: number;
}

/** Builds the TTL view of one mount: its own tuning where set, capped by the server's maximum. */
export function systemViewFor(entry: MountEntry, defaults: TtlDefaults, barrier?: Storage): SystemView {
  return {
    generatePasswordFromPolicy: barrier ? (name) => generatePasswordFromPolicy(new StorageView(barrier, PASSWORD_POLICY_STORAGE_PREFIX), name) : undefined,
    maxLeaseTtl: () => (entry.config.maxLeaseTtl > 0 ? Math.min(entry.config.maxLeaseTtl, defaults.maxLeaseTtl) : defaults.maxLeaseTtl),
    defaultLeaseTtl: () => {
      const max = entry.config.maxLeaseTtl > 0 ? Math.min(entry.config.maxLeaseTtl, defaults.maxLeaseTtl) : defaults.maxLeaseTtl;
      const value = entry.config.defaultLeaseTtl > 0 ? entry.config.defaultLeaseTtl : defaults.defaultLeaseTtl;
      return Math.min(value, max);
    },
  };
}

/**
 * Instantiates the backends of a mount table. The system and token mounts are served by core
 * itself, so they are skipped here.
 */
export class MountManager {
  private readonly live = new Map<string, LiveMount>();

  constructor(
    private readonly barrier: Storage,
    private readonly table: MountTable,
    private readonly logger: Logger,
    private readonly defaults: TtlDefaults,
  ) {}

  /** Starts every backend of the loaded table. */
  async startAll(): Promise<void> {
    for (const entry of this.table.list()) {
      if (entry.type in this.factories) await this.start(entry);
    }
  }

  private get factories(): Record<string, BackendFactory> {
    return this.table.kind === 'auth' ? AUTH_FACTORIES : ENGINE_FACTORIES;
  }

  async stopAll(): Promise<void> {
    for (const mount of this.live.values()) await mount.backend.cleanup?.();
    this.live.clear();
  }

  get(path: string): LiveMount | undefined {
    return this.live.get(path);
  }

  /** Creates the backend of an entry and registers it for routing. */
  async start(entry: MountEntry): Promise<LiveMount> {
    const storagePrefix = `${this.table.kind === 'auth' ? 'auth' : 'logical'}/${entry.uuid}/`;
    const context: BackendContext = {
      storage: new StorageView(this.barrier, storagePrefix),
      logger: this.logger.child({ mount: entry.path }),
      system: systemViewFor(entry, this.defaults, this.barrier),
      mountPoint: entry.path,
      mountType: entry.type,
      options: entry.options,
    };
    const backend = await this.factories[entry.type](context);
    await backend.initialize?.();
    const mount: LiveMount = { entry, backend, router: new BackendRouter(backend, context), storagePrefix };
    this.live.set(entry.path, mount);
    return mount;
  }

  /** Stops the backend and deletes everything it stored. */
  async stop(entry: MountEntry, options: { purge: boolean }): Promise<void> {
    const mount = this.live.get(entry.path);
    this.live.delete(entry.path);
    await mount?.backend.cleanup?.();
    if (mount && options.purge) await clearPrefix(this.barrier, mount.storagePrefix);
  }

  /** Gives a live mount the TTLs and options of its tuned entry. */
  retune(entry: MountEntry): void {
    const mount = this.live.get(entry.path);
    if (!mount) return;
    mount.entry = entry;
    mount.router.context.system = systemViewFor(entry, this.defaults, this.barrier);
    mount.router.context.options = entry.options;
  }

  /** Moves a live mount to a new path without touching its storage. */
  rename(oldPath: string, entry: MountEntry): void {
    const mount = this.live.get(oldPath);
    if (!mount) return;
    this.live.delete(oldPath);
    mount.entry = entry;
    mount.router.context.mountPoint = entry.path;
    this.live.set(entry.path, mount);
  }
}

/** Deletes every key under a prefix, a page of children at a time. */
export async function clearPrefix(storage: Storage, prefix: string): Promise<void> {
  const pageSize = 500;
  let after: string | undefined;
  for (;;) {
    const page = await storage.list(prefix, { after, limit: pageSize });
    if (page.length === 0) return;

    const keys = page.filter((child) => !child.endsWith('/'));
    if (keys.length > 0) await storage.transaction(keys.map((key) => ({ op: 'delete' as const, key: prefix + key })));
    for (const folder of page.filter((child) => child.endsWith('/'))) await clearPrefix(storage, prefix + folder);

    if (page.length < pageSize) return;
    after = page[page.length - 1];
  }
}
