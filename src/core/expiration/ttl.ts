import type { SystemView } from '../../framework/types.js';

/** A lease's TTL after the mount's defaults and every max TTL have been applied. */
export interface EffectiveTtl {
  /** Seconds; 0 only when no default and no max TTL exist, meaning the lease never expires. */
  ttl: number;
  /** Seconds from the issue time that renewals may not go past; 0 for no limit. */
  maxTtl: number;
  warnings: string[];
}

/**
 * Computes a new lease's TTL: the requested TTL or the mount's default, capped by the secret's
 * max TTL and the mount's max lease TTL, whichever is smaller. A requested TTL that is cut down
 * gets a warning, as Vault gives one.
 */
export function effectiveTtl(requestedTtl: number, requestedMaxTtl: number, system: SystemView): EffectiveTtl {
  const requested = wholeSeconds(requestedTtl);
  const maxTtl = smallestLimit(wholeSeconds(requestedMaxTtl), wholeSeconds(system.maxLeaseTtl()));
  let ttl = requested > 0 ? requested : wholeSeconds(system.defaultLeaseTtl());
  const warnings: string[] = [];

  if (maxTtl > 0 && (ttl === 0 || ttl > maxTtl)) {
    if (requested > 0) warnings.push(cappedWarning(requested, maxTtl));
    ttl = maxTtl;
  }
  return { ttl, maxTtl, warnings };
}

/**
 * Caps a renewal's TTL so that the lease ends no later than `maxExpireTime` (milliseconds since
 * the epoch, 0 for no limit). Returns whole seconds, at least 0.
 */
export function capRenewal(ttl: number, now: number, maxExpireTime: number): { ttl: number; warnings: string[] } {
  if (maxExpireTime === 0 || now + ttl * 1000 <= maxExpireTime) return { ttl, warnings: [] };
  const remaining = Math.max(0, Math.floor((maxExpireTime - now) / 1000));
  return { ttl: remaining, warnings: [cappedWarning(ttl, remaining, 'the time left before the lease reaches its max TTL')] };
}

/** Returns the smaller of two limits where 0 means no limit. */
export function smallestLimit(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return Math.min(a, b);
}

function wholeSeconds(value: number): number {
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

function cappedWarning(requested: number, granted: number, limit = 'the max TTL'): string {
  return `TTL of ${requested}s is greater than ${limit} (${granted}s); the lease TTL was capped to ${granted}s`;
}
