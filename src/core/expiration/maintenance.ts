import type { Logger } from 'pino';
import type { Storage } from '../../storage/storage.js';
import {
  decodeName,
  EXPIRY_PREFIX,
  expiryPosition,
  IRREVOCABLE_PREFIX,
  irrevocableKey,
  parseExpiryName,
  TOKEN_INDEX_PREFIX,
  TOKEN_LEASE_PREFIX,
  type LeaseEntry,
} from './lease.js';

/** Lists every name under `prefix` page by page, so a large index is never read at once. */
export async function* listPages(storage: Storage, prefix: string, pageSize: number): AsyncGenerator<string[]> {
  let after = '';
  for (;;) {
    const names = await storage.list(prefix, { after, limit: pageSize });
    if (names.length > 0) yield names;
    if (names.length < pageSize) return;
    after = names[names.length - 1];
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Counts irrevocable leases from their index, in total and by mount point. */
export async function countIrrevocable(storage: Storage, pageSize: number): Promise<{ lease_count: number; counts: Record<string, number> }> {
  const counts: Record<string, number> = {};
  let total = 0;
  for await (const mounts of listPages(storage, IRREVOCABLE_PREFIX, pageSize)) {
    for (const folder of mounts) {
      if (!folder.endsWith('/')) continue;
      let count = 0;
      for await (const names of listPages(storage, IRREVOCABLE_PREFIX + folder, pageSize)) count += names.length;
      counts[decodeName(folder.slice(0, -1)) ?? folder.slice(0, -1)] = count;
      total += count;
    }
  }
  return { lease_count: total, counts };
}

export interface TidyDeps {
  storage: Storage;
  pageSize: number;
  logger: Logger;
  load(leaseId: string): Promise<LeaseEntry | null>;
  tokenExists?(tokenId: string): Promise<boolean>;
  revokeByToken(tokenId: string): Promise<void>;
}

/**
 * Removes index entries whose lease is gone or no longer matches them, and revokes the leases of
 * tokens that no longer exist (when `tokenExists` is given). Reads every index entry once, page by
 * page with a turn of the event loop between pages.
 */
export async function tidyIndexes(deps: TidyDeps): Promise<void> {
  const { storage, pageSize } = deps;
  let removed = 0;
  let revokedTokens = 0;

  // Expiry entries that no longer match their lease's scheduled time.
  for await (const buckets of listPages(storage, EXPIRY_PREFIX, pageSize)) {
    for (const bucket of buckets) {
      for await (const names of listPages(storage, EXPIRY_PREFIX + bucket, pageSize)) {
        for (const name of names) {
          const parsed = parseExpiryName(name);
          const entry = parsed ? await deps.load(parsed.leaseId) : null;
          if (parsed && entry && entry.revokeAt > 0 && expiryPosition(entry.revokeAt, entry.leaseId) === bucket + name) continue;
          await storage.delete(EXPIRY_PREFIX + bucket + name);
          removed++;
        }
      }
    }
  }

  // Token index entries of missing leases, and leases of tokens that no longer exist.
  for await (const tokens of listPages(storage, TOKEN_INDEX_PREFIX, pageSize)) {
    for (const folder of tokens) {
      const tokenId = folder.slice(0, -1);
      if (deps.tokenExists && !(await deps.tokenExists(tokenId))) {
        await deps.revokeByToken(tokenId);
        revokedTokens++;
      }
      for await (const names of listPages(storage, TOKEN_INDEX_PREFIX + folder, pageSize)) {
        for (const name of names) {
          const leaseId = decodeName(name);
          if (leaseId !== null && (await deps.load(leaseId))) continue;
          await storage.delete(TOKEN_INDEX_PREFIX + folder + name);
          removed++;
        }
      }
    }
  }

  // Token lease pointers and irrevocable entries whose lease is gone.
  for await (const names of listPages(storage, TOKEN_LEASE_PREFIX, pageSize)) {
    for (const tokenId of names) {
      const leaseId = (await storage.get(TOKEN_LEASE_PREFIX + tokenId))?.toString('utf8');
      if (leaseId && (await deps.load(leaseId))) continue;
      await storage.delete(TOKEN_LEASE_PREFIX + tokenId);
      removed++;
    }
  }
  for await (const mounts of listPages(storage, IRREVOCABLE_PREFIX, pageSize)) {
    for (const folder of mounts) {
      for await (const names of listPages(storage, IRREVOCABLE_PREFIX + folder, pageSize)) {
        for (const name of names) {
          const leaseId = decodeName(name);
          const entry = leaseId === null ? null : await deps.load(leaseId);
          if (entry?.irrevocable && irrevocableKey(entry.mountPoint, entry.leaseId) === IRREVOCABLE_PREFIX + folder + name) continue;
          await storage.delete(IRREVOCABLE_PREFIX + folder + name);
          removed++;
        }
      }
    }
  }

  deps.logger.info({ removed_index_entries: removed, revoked_tokens: revokedTokens }, 'lease tidy finished');
}
