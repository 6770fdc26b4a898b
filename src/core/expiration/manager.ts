import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { BadRequestError, CofferError, InternalError } from '../../errors.js';
import type { Backend, BackendContext, SecretInfo, SystemView } from '../../framework/types.js';
import { getJson, type Storage } from '../../storage/storage.js';
import {
  decodeName,
  expiryPosition,
  EXPIRY_PREFIX,
  LEASE_PREFIX,
  leaseDeleteOps,
  leaseKey,
  leaseUpdateOps,
  leaseWriteOps,
  TOKEN_INDEX_PREFIX,
  TOKEN_LEASE_PREFIX,
  toLeaseInfo,
  type LeaseEntry,
  type LeaseInfo,
} from './lease.js';
import { CommitQueue } from './commit-queue.js';
import { countIrrevocable, tidyIndexes } from './maintenance.js';
import { ExpirySchedule } from './schedule.js';
import { capRenewal, effectiveTtl, smallestLimit } from './ttl.js';

/** Timing and batch sizes of the expiration manager; tests shorten them. */
export interface ExpirationTuning {
  /** Milliseconds ahead of now that the in-memory expiry window covers. */
  lookaheadMs: number;
  /** Leases the expiry loader holds in memory before it waits for some to expire. */
  maxLoaded: number;
  /** Index entries and leases read per storage listing, and leases revoked per batch. */
  pageSize: number;
  /** Longest wait in milliseconds between two checks of the clock and the expiry window. */
  checkIntervalMs: number;
  /** Revocations run at the same time within a batch. */
  revokeConcurrency: number;
  /** Milliseconds before the first retry of a failed revocation; each retry doubles it. */
  retryBaseMs: number;
  /** Longest wait in milliseconds between two retries. */
  retryMaxMs: number;
  /** Failed attempts after which a lease is marked irrevocable. */
  maxRevokeAttempts: number;
  /** Storage operations of concurrent lease writes applied in one group commit (see `CommitQueue`). */
  maxCommitOps: number;
}

export const DEFAULT_TUNING: ExpirationTuning = {
  lookaheadMs: 5 * 60_000,
  maxLoaded: 20_000,
  pageSize: 500,
  checkIntervalMs: 30_000,
  revokeConcurrency: 8,
  retryBaseMs: 10_000,
  retryMaxMs: 10 * 60_000,
  maxRevokeAttempts: 6,
  maxCommitOps: 1000,
};

export interface ExpirationOptions {
  /** A private view of barrier-encrypted storage. */
  storage: Storage;
  logger: Logger;
  /** Finds the live backend of a mount for renew and revoke callbacks; null when unmounted. */
  resolveMount(mountPoint: string): { backend: Backend; context: BackendContext } | null;
  /** Revokes a token and its child tokens; core calls `revokeByToken` for each of them. */
  revokeToken(tokenId: string): Promise<void>;
  /** Tells `tidy` whether a token still exists; without it, tidy keeps leases of any token. */
  tokenExists?(tokenId: string): Promise<boolean>;
  /** Milliseconds since the epoch; tests pass a controllable clock. */
  now?: () => number;
  tuning?: Partial<ExpirationTuning>;
}

export interface RegisterInput {
  /** The request path that returned the secret; the lease ID is this path plus a random ID. */
  requestPath: string;
  /** The mount path with a trailing slash. */
  mountPoint: string;
  secret: SecretInfo;
  /** Salted-hash id of the calling token; '' when no token created the secret. */
  tokenId: string;
  /** TTL settings of the mount. */
  system: SystemView;
}

export interface RegisterTokenInput {
  tokenId: string;
  /** The path that created the token, e.g. `auth/token/create`. */
  creationPath: string;
  /** Milliseconds since the epoch; 0 means the token never expires and needs no lease. */
  expireTime: number;
  /** The auth mount, with a trailing slash; derived from `creationPath` when absent. */
  mountPoint?: string;
}

/** A lease's terms as a response envelope carries them. */
export interface LeaseGrant {
  leaseId: string;
  /** Seconds. */
  ttl: number;
  renewable: boolean;
  warnings: string[];
}

/** Raised inside the manager when a lease's revoke callback can never run. */
class RevocationUnavailableError extends Error {}

const LEASE_ID_BYTES = 18;
const MAX_ERROR_LENGTH = 500;

/**
 * The expiration manager: registers leases for secrets and tokens, renews them, and revokes them
 * when they expire, when asked, or when the token that created them is revoked.
 *
 * Every lease is persisted with its revocation data before `register` returns. Expiry times live
 * in a time-ordered index, and only its next few minutes are held in memory (see
 * `ExpirySchedule`), so `start` returns at once however many leases exist. A failed revocation is
 * retried with exponential backoff and, after `maxRevokeAttempts`, marked irrevocable.
 */
export class ExpirationManager {
  private readonly storage: Storage;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly tuning: ExpirationTuning;
  private readonly commits: CommitQueue;
  private schedule: ExpirySchedule | null = null;
  private generation = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private pumping = false;
  private pumpAgain = false;
  /** `performance.now()` at the last `start`, and whether the first window since then is logged. */
  private startedAt = 0;
  private windowLogged = false;
  private readonly locks = new Map<string, Promise<void>>();
  private readonly revokingTokenLeases = new Set<string>();
  private tidying: Promise<void> | null = null;

  constructor(private readonly options: ExpirationOptions) {
    this.storage = options.storage;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.tuning = { ...DEFAULT_TUNING, ...options.tuning };
    this.commits = new CommitQueue(this.storage, this.tuning.maxCommitOps);
  }

  /** Starts expiry tracking after unseal. Returns at once; the expiry index is read in the background. */
  async start(): Promise<void> {
    await this.stop();
    this.generation++;
    this.schedule = new ExpirySchedule(this.storage, this.tuning);
    this.startedAt = performance.now();
    this.windowLogged = false;
    this.arm(0);
  }

  /** Stops expiry tracking on seal: clears the timer and forgets the in-memory window. */
  async stop(): Promise<void> {
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    this.schedule = null;
  }

  /** Leases whose expiry is held in memory; the rest wait in storage until their time nears. */
  get trackedLeases(): number {
    return this.schedule?.size ?? 0;
  }

  /** Registers a lease for a secret a backend returned and persists it before returning. */
  async register(input: RegisterInput): Promise<LeaseGrant> {
    const mount = this.options.resolveMount(input.mountPoint);
    if (!mount) throw new InternalError(`registering a lease: mount "${input.mountPoint}" is not mounted`);
    const secretType = mount.backend.secretTypes?.[input.secret.type];
    if (!secretType) {
      throw new InternalError(`registering a lease: the backend at "${input.mountPoint}" has no secret type "${input.secret.type}"`);
    }

    const { ttl, maxTtl, warnings } = effectiveTtl(input.secret.ttl, input.secret.maxTtl, input.system);
    const now = this.now();
    const expireTime = ttl > 0 ? now + ttl * 1000 : 0;
    const entry: LeaseEntry = {
      leaseId: `${trimSlashes(input.requestPath)}/${randomBytes(LEASE_ID_BYTES).toString('base64url')}`,
      kind: 'secret',
      mountPoint: input.mountPoint,
      secretType: input.secret.type,
      internalData: input.secret.internalData,
      tokenId: input.tokenId,
      issueTime: now,
      expireTime,
      maxExpireTime: maxTtl > 0 ? now + maxTtl * 1000 : 0,
      lastRenewalTime: 0,
      renewable: input.secret.renewable && typeof secretType.renew === 'function',
      revokeAt: expireTime,
      revokeAttempts: 0,
      lastError: '',
      irrevocable: false,
    };
    await this.persist(leaseWriteOps(entry), `registering lease "${entry.leaseId}"`);
    this.track(entry);
    return { leaseId: entry.leaseId, ttl, renewable: entry.renewable, warnings };
  }

  /**
   * Records or updates the lease of a service token so that it is revoked when it expires. The
   * lease ID is the creation path plus the token's id, as in Vault.
   */
  async registerToken(input: RegisterTokenInput): Promise<void> {
    const existingId = await this.tokenLeaseId(input.tokenId);
    const leaseId = existingId ?? `${trimSlashes(input.creationPath)}/${input.tokenId}`;
    await this.withLock(leaseId, async () => {
      const existing = existingId ? await this.load(existingId) : null;
      if (input.expireTime <= 0) {
        if (existing) await this.remove(existing);
        return;
      }
      const now = this.now();
      const entry: LeaseEntry = existing
        ? { ...existing, expireTime: input.expireTime, revokeAt: input.expireTime, lastRenewalTime: now }
        : {
            leaseId,
            kind: 'token',
            mountPoint: input.mountPoint ?? authMountOf(input.creationPath),
            secretType: '',
            internalData: {},
            tokenId: input.tokenId,
            issueTime: now,
            expireTime: input.expireTime,
            maxExpireTime: 0,
            lastRenewalTime: 0,
            renewable: true,
            revokeAt: input.expireTime,
            revokeAttempts: 0,
            lastError: '',
            irrevocable: false,
          };
      const ops = existing ? leaseUpdateOps(existing, entry) : leaseWriteOps(entry);
      await this.persist(ops, `registering the lease of token lease "${leaseId}"`);
      this.track(entry);
    });
  }

  /**
   * Renews a secret's lease by `increment` seconds (the mount's default TTL when absent or 0),
   * capped so the lease ends no later than its issue time plus its max TTL.
   */
  async renew(leaseId: string, increment: number | undefined): Promise<LeaseGrant> {
    return this.withLock(leaseId, async () => {
      const entry = await this.load(leaseId);
      if (!entry) throw new BadRequestError('invalid lease ID: no lease has this ID');
      if (entry.kind === 'token') throw new BadRequestError('invalid lease ID: token leases are renewed with auth/token/renew');
      const now = this.now();
      if (entry.irrevocable || entry.revokeAttempts > 0) throw new BadRequestError('lease is being revoked and cannot be renewed');
      if (entry.expireTime > 0 && entry.expireTime <= now) throw new BadRequestError('lease expired');
      if (!entry.renewable) throw new BadRequestError('lease is not renewable');

      const mount = this.options.resolveMount(entry.mountPoint);
      const renewSecret = mount?.backend.secretTypes?.[entry.secretType]?.renew;
      if (!mount || !renewSecret) throw new BadRequestError(`lease is not renewable: the secrets engine at "${entry.mountPoint}" cannot renew it`);

      const system = mount.context.system;
      const requested = increment !== undefined && increment > 0 ? increment : system.defaultLeaseTtl();
      const renewed = await callBackend('renewing the lease', () =>
        renewSecret({ ...leaseContext(entry, mount.context), increment: requested }),
      );

      const mountMax = system.maxLeaseTtl() > 0 ? entry.issueTime + system.maxLeaseTtl() * 1000 : 0;
      const granted = renewed.ttl > 0 ? Math.floor(renewed.ttl) : requested;
      const { ttl, warnings } = capRenewal(granted, now, smallestLimit(entry.maxExpireTime, mountMax));
      const updated: LeaseEntry = {
        ...entry,
        internalData: renewed.internalData ?? entry.internalData,
        expireTime: now + ttl * 1000,
        revokeAt: now + ttl * 1000,
        lastRenewalTime: now,
      };
      await this.persist(leaseUpdateOps(entry, updated), `renewing lease "${leaseId}"`);
      this.track(updated);
      return { leaseId, ttl, renewable: true, warnings };
    });
  }

  /**
   * Revokes one lease. With `sync` (the default) the call waits for the backend and throws 400
   * when its callback fails, and the lease is retried in the background. Without `sync` the
   * revocation runs in the background. An unknown lease ID is not an error, as in Vault.
   */
  async revoke(leaseId: string, options: { sync?: boolean } = {}): Promise<void> {
    if (options.sync === false) {
      void this.revokeLease(leaseId, false).catch((err) => this.logFailure(leaseId, err));
      return;
    }
    const error = await this.revokeLease(leaseId, false);
    if (error) throw new BadRequestError(`failed to revoke lease "${leaseId}": ${error}; the revocation is retried in the background`);
  }

  /**
   * Revokes every lease whose ID is `prefix` or starts with `prefix/`, in batches of `pageSize`
   * with a turn of the event loop between batches. With `force`, backend errors are ignored and
   * irrevocable leases are removed without calling their backend.
   */
  async revokePrefix(prefix: string, options: { force: boolean }): Promise<void> {
    const trimmed = prefix.replace(/^\/+/, '');
    if (trimmed === '') throw new BadRequestError('missing prefix: name the lease ID prefix to revoke, for example "database/creds/readonly/"');

    const exact = trimmed.endsWith('/') ? null : await this.load(trimmed);
    if (exact) {
      const error = await this.revokeLease(trimmed, options.force);
      if (error) throw new BadRequestError(`failed to revoke lease "${trimmed}": ${error}; the revocation is retried in the background`);
      return;
    }

    const folder = trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
    let total = 0;
    let failed = 0;
    for await (const batch of this.leaseIdsUnder(folder)) {
      const errors = await runLimited(batch, this.tuning.revokeConcurrency, (id) => this.revokeLease(id, options.force));
      total += batch.length;
      failed += errors.filter((error) => error !== null).length;
      await yieldToEventLoop();
    }
    if (failed > 0) {
      throw new BadRequestError(
        `failed to revoke ${failed} of ${total} leases under "${folder}"; they are retried in the background, and sys/leases/lookup shows each last error`,
      );
    }
  }

  /**
   * Revokes every lease the token created and removes the token's own lease. Failed revocations
   * are retried in the background rather than failing the token's revocation.
   */
  async revokeByToken(tokenId: string): Promise<void> {
    const folder = `${TOKEN_INDEX_PREFIX}${tokenId}/`;
    let after = '';
    for (;;) {
      const names = await this.storage.list(folder, { after, limit: this.tuning.pageSize });
      if (names.length === 0) break;
      const ids = names.map(decodeName).filter((id): id is string => id !== null);
      await runLimited(ids, this.tuning.revokeConcurrency, (id) => this.revokeLease(id, false));
      if (names.length < this.tuning.pageSize) break;
      after = names[names.length - 1];
      await yieldToEventLoop();
    }

    // When the token's own lease expired, that revocation holds the lease's lock and removes it.
    const ownLeaseId = await this.tokenLeaseId(tokenId);
    if (ownLeaseId === null || this.revokingTokenLeases.has(ownLeaseId)) return;
    await this.withLock(ownLeaseId, async () => {
      const own = await this.load(ownLeaseId);
      if (own) await this.remove(own);
      else await this.storage.delete(TOKEN_LEASE_PREFIX + tokenId);
    });
  }

  /** Returns a lease's metadata, or null when no lease has the ID. */
  async lookup(leaseId: string): Promise<LeaseInfo | null> {
    const entry = await this.load(leaseId);
    return entry ? toLeaseInfo(entry, this.now()) : null;
  }

  /** Lists the lease IDs and folders directly under a prefix, as `sys/leases/lookup/PREFIX` does. */
  list(prefix: string, options: { after?: string; limit?: number } = {}): Promise<string[]> {
    const trimmed = prefix.replace(/^\/+/, '');
    const folder = trimmed === '' || trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
    return this.storage.list(LEASE_PREFIX + folder, options);
  }

  /** Counts irrevocable leases, in total and by mount. */
  count(): Promise<{ lease_count: number; counts: Record<string, number> }> {
    return countIrrevocable(this.storage, this.tuning.pageSize);
  }

  /**
   * Removes index entries that point at missing leases and, when `tokenExists` is given, revokes
   * the leases of tokens that no longer exist. Concurrent calls share one run.
   */
  tidy(): Promise<void> {
    this.tidying ??= tidyIndexes({
      storage: this.storage,
      pageSize: this.tuning.pageSize,
      load: (leaseId) => this.load(leaseId),
      tokenExists: this.options.tokenExists?.bind(this.options),
      revokeByToken: (tokenId) => this.revokeByToken(tokenId),
      logger: this.logger,
    }).finally(() => {
      this.tidying = null;
    });
    return this.tidying;
  }

  // ---- Revocation ----

  /**
   * Revokes one lease under its lock. Returns null on success or when the lease is gone, and the
   * error message when the backend failed (the failure is recorded for a retry first).
   * `scheduledAt` marks a revocation the expiry index asked for at that time; it is skipped when
   * the lease was renewed, retried or revoked since.
   */
  private revokeLease(leaseId: string, force: boolean, scheduledAt?: number): Promise<string | null> {
    return this.withLock(leaseId, async () => {
      const entry = await this.load(leaseId);
      if (scheduledAt !== undefined && !(await this.isDue(leaseId, entry, scheduledAt))) return null;
      if (!entry) return null;

      const skipBackend = force && entry.irrevocable && entry.kind === 'secret';
      if (!skipBackend) {
        try {
          await this.callRevoke(entry);
        } catch (err) {
          if (!force) return this.recordFailure(entry, err);
          this.logger.warn({ lease_id: leaseId, err: errorMessage(err) }, 'forced lease revocation ignored a backend error');
        }
      }
      await this.remove(entry);
      return null;
    });
  }

  private async callRevoke(entry: LeaseEntry): Promise<void> {
    if (entry.kind === 'token') {
      this.revokingTokenLeases.add(entry.leaseId);
      try {
        await this.options.revokeToken(entry.tokenId);
      } finally {
        this.revokingTokenLeases.delete(entry.leaseId);
      }
      return;
    }
    const mount = this.options.resolveMount(entry.mountPoint);
    if (!mount) throw new RevocationUnavailableError(`the secrets engine at "${entry.mountPoint}" is no longer mounted`);
    const secretType = mount.backend.secretTypes?.[entry.secretType];
    if (!secretType) throw new RevocationUnavailableError(`the secrets engine at "${entry.mountPoint}" has no secret type "${entry.secretType}"`);
    await secretType.revoke(leaseContext(entry, mount.context));
  }

  /** Stores a failed attempt and schedules the retry, or marks the lease irrevocable. Returns the message. */
  private async recordFailure(entry: LeaseEntry, err: unknown): Promise<string> {
    const message = errorMessage(err);
    const attempts = entry.revokeAttempts + 1;
    const irrevocable = err instanceof RevocationUnavailableError || attempts >= this.tuning.maxRevokeAttempts;
    const backoff = Math.min(this.tuning.retryBaseMs * 2 ** (attempts - 1), this.tuning.retryMaxMs);
    const updated: LeaseEntry = {
      ...entry,
      revokeAttempts: attempts,
      lastError: message,
      irrevocable,
      revokeAt: irrevocable ? 0 : this.now() + backoff,
    };
    await this.persist(leaseUpdateOps(entry, updated), `recording a failed revocation of lease "${entry.leaseId}"`);

    const log = { lease_id: entry.leaseId, attempts, err: message };
    if (irrevocable) {
      this.schedule?.untrack(entry.leaseId);
      this.logger.error(log, 'lease revocation failed; the lease is now irrevocable until revoked again or force-revoked');
    } else {
      this.track(updated);
      this.logger.warn({ ...log, retry_in_ms: backoff }, 'lease revocation failed; retrying later');
    }
    return message;
  }

  // ---- Expiry ----

  /** Checks an expiry index entry against the stored lease, cleaning up the index when it is stale. */
  private async isDue(leaseId: string, entry: LeaseEntry | null, scheduledAt: number): Promise<boolean> {
    if (entry && entry.revokeAt === scheduledAt) {
      if (scheduledAt <= this.now()) return true;
      this.track(entry);
      return false;
    }
    // Renewed, retried or revoked since this index entry was written.
    await this.storage.delete(EXPIRY_PREFIX + expiryPosition(scheduledAt, leaseId));
    if (entry) this.track(entry);
    return false;
  }

  /** Revokes due leases batch by batch, then extends the window, then arms the timer again. */
  private async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    const generation = this.generation;
    const schedule = this.schedule;
    if (!schedule) return;
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        for (;;) {
          const due = schedule.takeDue(this.now(), this.tuning.pageSize);
          if (due.length === 0 || generation !== this.generation) break;
          await runLimited(due, this.tuning.revokeConcurrency, ({ leaseId, time }) =>
            this.revokeLease(leaseId, false, time).catch((err) => this.logFailure(leaseId, err)),
          );
          await yieldToEventLoop();
        }
        if (generation === this.generation && schedule.needsLoad(this.now())) await schedule.load(this.now);
        if (generation === this.generation && !this.windowLogged) {
          this.windowLogged = true;
          const elapsedMs = Math.round(performance.now() - this.startedAt);
          this.logger.info({ tracked_leases: schedule.size, elapsed_ms: elapsedMs }, 'lease expiry window loaded');
        }
      } while (generation === this.generation && (this.pumpAgain || (schedule.nextTime() ?? Infinity) <= this.now()));
    } catch (err) {
      if (generation === this.generation) this.logger.error({ err: errorMessage(err) }, 'reading the lease expiry index failed; retrying at the next check');
    } finally {
      this.pumping = false;
      if (generation === this.generation) this.arm();
    }
  }

  /** Sets the timer for the earliest due lease, or the next periodic check. */
  private arm(delay?: number): void {
    const schedule = this.schedule;
    if (!schedule) return;
    const now = this.now();
    const next = schedule.nextTime();
    const wait = delay ?? Math.min(this.tuning.checkIntervalMs, Math.max(0, (next ?? Infinity) - now));
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = now + wait;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      void this.pump();
    }, wait);
    this.timer.unref();
  }

  private track(entry: LeaseEntry): void {
    if (!this.schedule || entry.revokeAt <= 0 || entry.irrevocable) return;
    this.schedule.track(entry.leaseId, entry.revokeAt);
    if (entry.revokeAt < this.timerAt && !this.pumping) this.arm();
  }

  // ---- Storage ----

  private async load(leaseId: string): Promise<LeaseEntry | null> {
    if (leaseId === '') return null;
    return getJson<LeaseEntry>(this.storage, leaseKey(leaseId));
  }

  private async remove(entry: LeaseEntry): Promise<void> {
    await this.persist(leaseDeleteOps(entry), `removing lease "${entry.leaseId}"`);
    this.schedule?.untrack(entry.leaseId);
  }

  private async tokenLeaseId(tokenId: string): Promise<string | null> {
    const raw = await this.storage.get(TOKEN_LEASE_PREFIX + tokenId);
    return raw === null ? null : raw.toString('utf8');
  }

  private async persist(ops: Parameters<Storage['transaction']>[0], action: string): Promise<void> {
    try {
      await this.commits.commit(ops);
    } catch (err) {
      if (err instanceof CofferError && err.status !== 500) throw err;
      throw new InternalError(`${action}: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** Runs `operation` after every earlier operation on the same lease has settled. */
  private async withLock<T>(leaseId: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(leaseId) ?? Promise.resolve();
    const result = previous.then(operation);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(leaseId, settled);
    try {
      return await result;
    } finally {
      if (this.locks.get(leaseId) === settled) this.locks.delete(leaseId);
    }
  }

  private logFailure(leaseId: string, err: unknown): void {
    if (this.schedule === null) return;
    this.logger.error({ lease_id: leaseId, err: errorMessage(err) }, 'lease revocation failed');
  }

  private async *leaseIdsUnder(folder: string): AsyncGenerator<string[]> {
    let after = '';
    for (;;) {
      const names = await this.storage.list(LEASE_PREFIX + folder, { after, limit: this.tuning.pageSize });
      const leaves = names.filter((name) => !name.endsWith('/')).map((name) => folder + name);
      if (leaves.length > 0) yield leaves;
      for (const name of names) {
        if (name.endsWith('/')) yield* this.leaseIdsUnder(folder + name);
      }
      if (names.length < this.tuning.pageSize) return;
      after = names[names.length - 1];
    }
  }
}

function leaseContext(entry: LeaseEntry, backend: BackendContext) {
  return {
    leaseId: entry.leaseId,
    internalData: entry.internalData,
    increment: 0,
    issueTime: entry.issueTime,
    expireTime: entry.expireTime,
    backend,
  };
}

/** Runs a backend callback; errors that are not already typed become a 500 with context. */
async function callBackend<T>(action: string, callback: () => Promise<T>): Promise<T> {
  try {
    return await callback();
  } catch (err) {
    if (err instanceof CofferError) throw err;
    throw new InternalError(`${action}: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * Longest run of revocations in milliseconds before the event loop gets a turn. Revocations in
 * flight also give the event loop a turn while they wait for their group commit, so with SQLite
 * a pause is about one combined commit plus the lease reads before it.
 */
const SLICE_MS = 10;

/**
 * Runs `task` over `items` with at most `limit` running at once; returns the results in order.
 * Storage such as SQLite answers synchronously, so a batch could otherwise run without a single
 * turn of the event loop: workers yield once `SLICE_MS` have passed since the last turn.
 */
async function runLimited<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let sliceStart = performance.now();
  const worker = async () => {
    while (next < items.length) {
      if (performance.now() - sliceStart > SLICE_MS) {
        await yieldToEventLoop();
        sliceStart = performance.now();
      }
      const index = next++;
      if (index >= items.length) break;
      results[index] = await task(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Returns an error's message, shortened; backends must not put secret values in messages. */
function errorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.length > MAX_ERROR_LENGTH ? `${message.slice(0, MAX_ERROR_LENGTH)}...` : message;
}

function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}

/** Returns the auth mount of a token creation path, e.g. `auth/userpass/` for `auth/userpass/login/bob`. */
function authMountOf(creationPath: string): string {
  const segments = trimSlashes(creationPath).split('/');
  return segments.length >= 2 ? `${segments[0]}/${segments[1]}/` : 'auth/token/';
}
