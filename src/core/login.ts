import { BadRequestError, PermissionDeniedError } from '../errors.js';
import type { AuthInfo, LogicalRequest } from '../framework/types.js';
import type { Core, Route } from './core.js';
import { authBlock } from './token/paths.js';
import type { TokenEntry } from './token/store.js';
import { addressAllowed } from '../framework/cidr.js';

/**
 * Creates the token for a successful login through an auth method and returns Vault's `auth`
 * block. Login tokens are orphans: their lifetime is bounded by the auth mount's TTLs, not by a
 * parent token.
 */
export async function createLoginToken(core: Core, req: LogicalRequest, route: Route, auth: AuthInfo): Promise<{ authBlock: Record<string, unknown>; warnings: string[] }> {
  const system = route.router.context.system;
  const warnings: string[] = [];

  let policies = [...new Set(auth.policies.map((p) => p.toLowerCase()))];
  if (policies.includes('root')) throw new PermissionDeniedError('auth methods cannot issue root tokens');
  if (!auth.noDefaultPolicy && !policies.includes('default')) policies.push('default');
  policies = policies.sort();

  const period = auth.period ?? 0;
  let maxTtl = auth.maxTtl && auth.maxTtl > 0 ? Math.min(auth.maxTtl, system.maxLeaseTtl()) : system.maxLeaseTtl();
  if (auth.explicitMaxTtl && auth.explicitMaxTtl > 0) maxTtl = Math.min(maxTtl, auth.explicitMaxTtl);
  let ttl = auth.ttl && auth.ttl > 0 ? auth.ttl : system.defaultLeaseTtl();
  if (period > 0) ttl = period;
  if (period === 0 && ttl > maxTtl) {
    ttl = maxTtl;
    warnings.push(`TTL of the token was capped at ${maxTtl} seconds by the max TTL`);
  }

  const mountName = route.entry.path.replace(/\/$/, '');
  const displayName = auth.displayName ? `${mountName}-${auth.displayName}` : mountName;
  const input = {
    policies,
    path: req.path,
    meta: auth.metadata,
    displayName: displayName.replace(/[^\w.-]/g, '-'),
    numUses: auth.numUses ?? 0,
    ttl,
    explicitMaxTtl: auth.explicitMaxTtl ?? (period === 0 ? maxTtl : 0),
    period,
    renewable: auth.renewable ?? true,
    orphan: true,
    mountAccessor: route.entry.accessor,
    boundCidrs: auth.boundCidrs,
    authInternal: auth.internalData,
  };
  const batch = loginTokenType(route.entry.config.tokenType, auth.tokenType) === 'batch';
  const { token, entry } = batch ? core.tokens.createBatch(input) : await core.tokens.create(input);
  return { authBlock: authBlock(token, entry, ttl), warnings };
}

/**
 * Decides the login token's type from the mount's `token_type` and the role's: `service` and
 * `batch` on the mount are fixed, the `default-` forms give way to the role's own choice.
 */
function loginTokenType(mountType: string | undefined, roleType: AuthInfo['tokenType']): 'service' | 'batch' {
  if (mountType === 'service' || mountType === 'batch') {
    if (roleType && roleType !== 'default' && roleType !== mountType) {
      throw new BadRequestError(`the auth mount only issues ${mountType} tokens, but the role asks for ${roleType}`);
    }
    return mountType;
  }
  if (roleType === 'service' || roleType === 'batch') return roleType;
  return mountType === 'default-batch' ? 'batch' : 'service';
}

/** Rejects a token used from outside its bound CIDR blocks. */
export function checkBoundCidrs(entry: TokenEntry, remoteAddress: string): void {
  if (!entry.boundCidrs || entry.boundCidrs.length === 0) return;
  if (!addressAllowed(remoteAddress, entry.boundCidrs)) {
    throw new PermissionDeniedError('permission denied: the token cannot be used from this address');
  }
}
