import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { AesGcmBarrier } from '../../../src/core/barrier/aes-gcm.js';
import { leaseWriteOps, type LeaseEntry } from '../../../src/core/expiration/lease.js';
import { ExpirationManager, type ExpirationTuning, type LeaseGrant } from '../../../src/core/expiration/manager.js';
import type { Backend, BackendContext, LeaseContext, SystemView } from '../../../src/framework/types.js';
import { InmemPhysical } from '../../../src/storage/inmem.js';
import type { Physical } from '../../../src/storage/physical.js';
import { StorageView, type Storage } from '../../../src/storage/storage.js';

export const MOUNT = 'test/';

/**
 * A barrier-encrypted store, a mount with a small test backend whose `test` secret type records
 * revocations and can be made to fail, a controllable clock, and an expiration manager over them.
 */
export interface LeaseFixture {
  physical: Physical;
  storage: Storage;
  /** Milliseconds since the epoch that the manager sees as now. */
  clock: { now: number };
  /** TTLs of the mount, in seconds. */
  ttl: { defaultLeaseTtl: number; maxLeaseTtl: number };
  system: SystemView;
  /** Lease IDs the backend revoked, in order. */
  revoked: string[];
  renewed: LeaseContext[];
  /** Token ids the manager asked core to revoke. */
  revokedTokens: string[];
  /** When set, the backend's revoke throws this message. */
  failRevoke: { message: string | null };
  mounted: Map<string, { backend: Backend; context: BackendContext }>;
  tokens: Set<string>;
  manager: ExpirationManager;
  /** Builds another manager over the same storage, as after a restart. */
  newManager(): ExpirationManager;
}

export async function createLeaseFixture(
  options: { physical?: Physical; tuning?: Partial<ExpirationTuning>; start?: boolean } = {},
): Promise<LeaseFixture> {
  const physical = options.physical ?? new InmemPhysical();
  const barrier = new AesGcmBarrier(physical);
  const rootKey = randomBytes(32);
  await barrier.initialize(rootKey);
  await barrier.unseal(rootKey);
  const storage = new StorageView(barrier, 'sys/expire/');
  const logger = pino({ level: 'silent' });

  const fixture = {
    physical,
    storage,
    clock: { now: Date.UTC(2030, 0, 1) },
    ttl: { defaultLeaseTtl: 3600, maxLeaseTtl: 86400 },
    revoked: [] as string[],
    renewed: [] as LeaseContext[],
    revokedTokens: [] as string[],
    failRevoke: { message: null as string | null },
    mounted: new Map<string, { backend: Backend; context: BackendContext }>(),
    tokens: new Set<string>(),
  } as LeaseFixture;

  fixture.system = {
    defaultLeaseTtl: () => fixture.ttl.defaultLeaseTtl,
    maxLeaseTtl: () => fixture.ttl.maxLeaseTtl,
  };
  const backend: Backend = {
    paths: [],
    secretTypes: {
      test: {
        async revoke(ctx) {
          if (fixture.failRevoke.message !== null) throw new Error(fixture.failRevoke.message);
          fixture.revoked.push(ctx.leaseId);
        },
        async renew(ctx) {
          fixture.renewed.push(ctx);
          return { ttl: ctx.increment };
        },
      },
      fixed: {
        async revoke(ctx) {
          fixture.revoked.push(ctx.leaseId);
        },
      },
    },
  };
  const context: BackendContext = {
    storage: new StorageView(barrier, 'logical/test/'),
    logger,
    system: fixture.system,
    mountPoint: MOUNT,
    mountType: 'test',
    options: {},
  };
  fixture.mounted.set(MOUNT, { backend, context });

  fixture.newManager = () =>
    new ExpirationManager({
      storage,
      logger,
      resolveMount: (mountPoint) => fixture.mounted.get(mountPoint) ?? null,
      revokeToken: async (tokenId) => {
        fixture.revokedTokens.push(tokenId);
        fixture.tokens.delete(tokenId);
        await fixture.manager.revokeByToken(tokenId);
      },
      tokenExists: async (tokenId) => fixture.tokens.has(tokenId),
      now: () => fixture.clock.now,
      tuning: { checkIntervalMs: 5, retryBaseMs: 1000, retryMaxMs: 60_000, ...options.tuning },
    });
  fixture.manager = fixture.newManager();
  if (options.start !== false) await fixture.manager.start();
  return fixture;
}

/** Registers `n` leases of the fixture's `test` secret type through `register`, a few at a time. */
export async function createLeases(
  fixture: LeaseFixture,
  n: number,
  options: { ttl?: number; tokenId?: string; requestPath?: string; concurrency?: number } = {},
): Promise<LeaseGrant[]> {
  const grants: LeaseGrant[] = [];
  const concurrency = options.concurrency ?? 16;
  for (let start = 0; start < n; start += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, n - start) }, () =>
      fixture.manager.register({
        requestPath: options.requestPath ?? 'test/creds/reader',
        mountPoint: MOUNT,
        secret: { type: 'test', ttl: options.ttl ?? 3600, maxTtl: 0, renewable: true, internalData: { username: 'v-reader' } },
        tokenId: options.tokenId ?? 'token-a',
        system: fixture.system,
      }),
    );
    grants.push(...(await Promise.all(batch)));
  }
  return grants;
}

/**
 * Writes `n` leases straight into storage, in transactions of `batchSize`, with the layout
 * `register` produces. Expiry times spread evenly over `spreadSeconds` after `ttl`. For
 * benchmarks and tests that need many leases quickly; `createLeases` exercises the real path.
 */
export async function seedLeases(
  fixture: LeaseFixture,
  n: number,
  options: { ttl?: number; spreadSeconds?: number; requestPath?: string; batchSize?: number; tokenId?: string } = {},
): Promise<string[]> {
  const now = fixture.clock.now;
  const ttlMs = (options.ttl ?? 3600) * 1000;
  const spreadMs = (options.spreadSeconds ?? 0) * 1000;
  const batchSize = options.batchSize ?? 1000;
  const ids: string[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const ops = [];
    for (let i = start; i < Math.min(n, start + batchSize); i++) {
      const leaseId = `${options.requestPath ?? 'test/creds/reader'}/${randomBytes(18).toString('base64url')}`;
      const expireTime = now + ttlMs + (n > 1 ? Math.floor((spreadMs * i) / (n - 1)) : 0);
      const entry: LeaseEntry = {
        leaseId,
        kind: 'secret',
        mountPoint: MOUNT,
        secretType: 'test',
        internalData: { username: 'v-reader' },
        tokenId: options.tokenId ?? 'token-a',
        issueTime: now,
        expireTime,
        maxExpireTime: now + 86400_000,
        lastRenewalTime: 0,
        renewable: true,
        revokeAt: expireTime,
        revokeAttempts: 0,
        lastError: '',
        irrevocable: false,
      };
      ops.push(...leaseWriteOps(entry));
      ids.push(leaseId);
    }
    await fixture.storage.transaction(ops);
  }
  return ids;
}

/** Polls `condition` every few milliseconds; fails with `what` after `timeoutMs` of real time. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
}
