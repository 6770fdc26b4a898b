import type { TxOp } from '../../storage/physical.js';

/**
 * A lease as stored under `id/<leaseId>`: everything needed to renew or revoke it after a restart.
 * The storage it lives in is encrypted by the barrier; `internalData` is never sent to a caller.
 */
export interface LeaseEntry {
  leaseId: string;
  /** `secret` leases are revoked through the backend's secret type; `token` leases through core. */
  kind: 'secret' | 'token';
  /** The mount path with a trailing slash, e.g. `database/`. */
  mountPoint: string;
  /** Key into the backend's `secretTypes`; empty for token leases. */
  secretType: string;
  internalData: Record<string, unknown>;
  /** Salted-hash id of the token that created the lease (or, for a token lease, the token itself). */
  tokenId: string;
  /** Milliseconds since the epoch. */
  issueTime: number;
  /** Milliseconds since the epoch; 0 when the lease never expires. */
  expireTime: number;
  /** Milliseconds since the epoch after which no renewal may extend the lease; 0 for no limit. */
  maxExpireTime: number;
  /** Milliseconds since the epoch of the last renewal; 0 before the first one. */
  lastRenewalTime: number;
  renewable: boolean;
  /**
   * Milliseconds since the epoch at which the expiry index schedules the next revocation attempt:
   * the expire time, or a retry time after a failed attempt. 0 when nothing is scheduled.
   */
  revokeAt: number;
  /** Failed revocation attempts so far. */
  revokeAttempts: number;
  /** Message of the last failed revocation attempt; '' when none failed. */
  lastError: string;
  /** Set once revocation failed too often or cannot run; only an explicit revoke or a force removes it. */
  irrevocable: boolean;
}

/** Lease metadata as `sys/leases/lookup` returns it. */
export interface LeaseInfo {
  id: string;
  issue_time: string;
  expire_time: string | null;
  last_renewal: string | null;
  renewable: boolean;
  /** Seconds until the lease expires; 0 when it has expired or never expires. */
  ttl: number;
  /** Present after a failed revocation attempt. */
  revoke_attempts?: number;
  last_error?: string;
  irrevocable?: boolean;
}

// Storage layout, relative to the manager's storage view:
//   id/<leaseId>                               the lease entry (lease IDs contain `/`, so listing
//                                              `id/<prefix>/` walks them like folders)
//   expiry/<minute>/<time>_<encoded leaseId>   empty; one per scheduled lease, in time order
//   by-token/<tokenId>/<encoded leaseId>       empty; the leases a token created
//   token/<tokenId>                            the lease ID of a token's own lease
//   irrevocable/<encoded mount>/<encoded id>   empty; leases that gave up on revocation
// Encoded names use encodeURIComponent, so they are single path segments of ASCII characters.
export const LEASE_PREFIX = 'id/';
export const EXPIRY_PREFIX = 'expiry/';
export const TOKEN_INDEX_PREFIX = 'by-token/';
export const TOKEN_LEASE_PREFIX = 'token/';
export const IRREVOCABLE_PREFIX = 'irrevocable/';

const MINUTE_MS = 60_000;
const BUCKET_DIGITS = 10;
const TIME_DIGITS = 15;

/** Returns the expiry bucket name of a time: its minute since the epoch, zero-padded to sort. */
export function bucketOf(time: number): string {
  return String(Math.floor(time / MINUTE_MS)).padStart(BUCKET_DIGITS, '0');
}

/**
 * Returns the position of a scheduled lease in the expiry index, `<bucket>/<time>_<id>`. Positions
 * are ASCII, so plain string comparison orders them by time and then lease ID.
 */
export function expiryPosition(time: number, leaseId: string): string {
  return `${bucketOf(time)}/${String(time).padStart(TIME_DIGITS, '0')}_${encodeURIComponent(leaseId)}`;
}

/** Returns a position that sorts after every lease scheduled before `time` and before all others. */
export function timeBound(time: number): string {
  return `${bucketOf(time)}/${String(time).padStart(TIME_DIGITS, '0')}`;
}

/** Reads the time and lease ID back from an expiry index name inside a bucket. */
export function parseExpiryName(name: string): { time: number; leaseId: string } | null {
  const separator = name.indexOf('_');
  if (separator !== TIME_DIGITS) return null;
  const time = Number(name.slice(0, separator));
  if (!Number.isSafeInteger(time)) return null;
  const leaseId = decodeName(name.slice(separator + 1));
  return leaseId === null ? null : { time, leaseId };
}

/** Decodes an index name back to the lease ID or mount it encodes; null when it is malformed. */
export function decodeName(name: string): string | null {
  try {
    return decodeURIComponent(name);
  } catch {
    return null;
  }
}

export function leaseKey(leaseId: string): string {
  return LEASE_PREFIX + leaseId;
}

export function tokenIndexKey(tokenId: string, leaseId: string): string {
  return `${TOKEN_INDEX_PREFIX}${tokenId}/${encodeURIComponent(leaseId)}`;
}

export function irrevocableKey(mountPoint: string, leaseId: string): string {
  return `${IRREVOCABLE_PREFIX}${encodeURIComponent(mountPoint)}/${encodeURIComponent(leaseId)}`;
}

/** Returns the storage operations that write a lease and every index entry it belongs in. */
export function leaseWriteOps(entry: LeaseEntry): TxOp[] {
  const empty = Buffer.alloc(0);
  const ops: TxOp[] = [{ op: 'put', key: leaseKey(entry.leaseId), value: Buffer.from(JSON.stringify(entry), 'utf8') }];
  if (entry.revokeAt > 0) ops.push({ op: 'put', key: EXPIRY_PREFIX + expiryPosition(entry.revokeAt, entry.leaseId), value: empty });
  if (entry.kind === 'token') {
    ops.push({ op: 'put', key: TOKEN_LEASE_PREFIX + entry.tokenId, value: Buffer.from(entry.leaseId, 'utf8') });
  } else if (entry.tokenId !== '') {
    ops.push({ op: 'put', key: tokenIndexKey(entry.tokenId, entry.leaseId), value: empty });
  }
  if (entry.irrevocable) ops.push({ op: 'put', key: irrevocableKey(entry.mountPoint, entry.leaseId), value: empty });
  return ops;
}

/** Returns the storage operations that remove a lease and every index entry `leaseWriteOps` wrote. */
export function leaseDeleteOps(entry: LeaseEntry): TxOp[] {
  const ops: TxOp[] = [{ op: 'delete', key: leaseKey(entry.leaseId) }];
  if (entry.revokeAt > 0) ops.push({ op: 'delete', key: EXPIRY_PREFIX + expiryPosition(entry.revokeAt, entry.leaseId) });
  if (entry.kind === 'token') ops.push({ op: 'delete', key: TOKEN_LEASE_PREFIX + entry.tokenId });
  else if (entry.tokenId !== '') ops.push({ op: 'delete', key: tokenIndexKey(entry.tokenId, entry.leaseId) });
  if (entry.irrevocable) ops.push({ op: 'delete', key: irrevocableKey(entry.mountPoint, entry.leaseId) });
  return ops;
}

/**
 * Returns the operations that replace `before` with `after`: index entries that only `before`
 * had are deleted, then everything of `after` is written.
 */
export function leaseUpdateOps(before: LeaseEntry, after: LeaseEntry): TxOp[] {
  const written = new Set(leaseWriteOps(after).map((op) => op.key));
  const stale = leaseDeleteOps(before).filter((op) => !written.has(op.key));
  return [...stale, ...leaseWriteOps(after)];
}

/** Describes a lease for `sys/leases/lookup`; never includes `internalData`. */
export function toLeaseInfo(entry: LeaseEntry, now: number): LeaseInfo {
  const info: LeaseInfo = {
    id: entry.leaseId,
    issue_time: new Date(entry.issueTime).toISOString(),
    expire_time: entry.expireTime > 0 ? new Date(entry.expireTime).toISOString() : null,
    last_renewal: entry.lastRenewalTime > 0 ? new Date(entry.lastRenewalTime).toISOString() : null,
    renewable: entry.renewable && !entry.irrevocable && (entry.expireTime === 0 || entry.expireTime > now),
    ttl: entry.expireTime > 0 ? Math.max(0, Math.floor((entry.expireTime - now) / 1000)) : 0,
  };
  if (entry.revokeAttempts > 0 || entry.irrevocable) {
    info.revoke_attempts = entry.revokeAttempts;
    info.last_error = entry.lastError;
    info.irrevocable = entry.irrevocable;
  }
  return info;
}
