import { timingSafeEqual } from 'node:crypto';
import { BadRequestError } from '../../errors.js';
import type { BackendContext, HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import { addressAllowed } from '../../framework/cidr.js';
import { authInfoFromSettings } from '../common/token-fields.js';
import type { AppRoleStore, RoleEntry } from './store.js';

/**
 * The one message for every rejected login, so that a caller cannot tell an unknown role ID from
 * a wrong, expired, used-up or address-bound secret ID. The reason goes to the log.
 */
const LOGIN_FAILED = 'invalid role or secret ID';

/** Returns the `login` path: role ID plus (when the role binds one) secret ID. */
export function loginPath(store: AppRoleStore): PathSpec {
  return {
    pattern: 'login',
    fields: {
      role_id: { type: 'string', description: 'Role ID of the role.' },
      secret_id: { type: 'string', description: 'A secret ID of the role; required when the role has bind_secret_id.' },
    },
    operations: { update: (ctx) => login(store, ctx) },
    help: 'Logs in with a role ID and a secret ID and returns a token.',
  };
}

async function login(store: AppRoleStore, ctx: HandlerContext): Promise<LogicalResponse> {
  const roleId = (ctx.fields.role_id as string | undefined) ?? '';
  if (roleId === '') throw new BadRequestError('missing "role_id"');
  const address = ctx.req.remoteAddress;

  const roleName = await store.roleNameForRoleId(roleId);
  const role = roleName === null ? null : await store.getRole(roleName);
  // The index is found by HMAC. Comparing with the role's own role ID also guards a stale index.
  if (role === null || !sameString(role.roleId, roleId)) return reject(ctx, 'unknown role ID');

  // Role-wide address checks come first, so a refused address never spends a secret ID use.
  if (!addressAllowed(address, role.secretIdBoundCidrs)) return reject(ctx, 'address outside secret_id_bound_cidrs', role);
  if (!addressAllowed(address, role.token.boundCidrs)) return reject(ctx, 'address outside token_bound_cidrs', role);

  let metadata: Record<string, string> = {};
  let tokenBoundCidrs = role.token.boundCidrs;
  let secretIdAccessor: string | undefined;
  if (role.bindSecretId) {
    const secretId = (ctx.fields.secret_id as string | undefined) ?? '';
    if (secretId === '') throw new BadRequestError('missing "secret_id"');

    const result = await store.useSecretId(role, secretId, (cidrs) => addressAllowed(address, cidrs));
    if ('rejected' in result) return reject(ctx, `secret ID ${result.rejected.replace(/_/g, ' ')}`, role);
    metadata = { ...result.entry.metadata };
    secretIdAccessor = result.entry.accessor;
    if (result.entry.tokenBoundCidrs.length > 0) tokenBoundCidrs = result.entry.tokenBoundCidrs;
  }

  metadata.role_name = role.name;
  const auth = authInfoFromSettings(
    { ...role.token, boundCidrs: tokenBoundCidrs },
    {
      metadata,
      internalData: { role_name: role.name, role_folder: role.secretIdFolder, secret_id_accessor: secretIdAccessor },
    },
  );
  return { auth };
}

function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

function reject(ctx: HandlerContext, reason: string, role?: RoleEntry): never {
  ctx.backend.logger.info(
    { mount: ctx.backend.mountPoint, request_id: ctx.req.id, role_name: role?.name, remote_address: ctx.req.remoteAddress, reason },
    'approle login rejected',
  );
  throw new BadRequestError(LOGIN_FAILED);
}

/**
 * Checks at renewal that the token's role still exists (the same role, not one created again under
 * the name) and returns the role's current policies and TTLs.
 */
export async function renewAppRoleAuth(
  store: AppRoleStore,
  ctx: { internalData: Record<string, unknown>; metadata: Record<string, string>; backend: BackendContext },
): Promise<{ policies: string[]; ttl: number; maxTtl: number; period: number }> {
  const name = String(ctx.internalData.role_name ?? ctx.metadata.role_name ?? '');
  const role = name === '' ? null : await store.getRole(name);
  const folder = ctx.internalData.role_folder;
  if (role === null || (folder !== undefined && folder !== role.secretIdFolder)) {
    throw new BadRequestError(`cannot renew the token: role "${name}" no longer exists; log in again`);
  }
  return { policies: [...role.token.policies], ttl: role.token.ttl, maxTtl: role.token.maxTtl, period: role.token.period };
}
