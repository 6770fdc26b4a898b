import { BadRequestError, PermissionDeniedError } from '../../errors.js';
import type { FieldSpec, HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import { TokenStore, type TokenEntry } from './store.js';
import { readPage } from '../../framework/paging.js';
import { checkRolePolicies, tokenRolePaths, type TokenRole, type TokenRoleStore } from './roles.js';

const createFields: Record<string, FieldSpec> = {
  id: { type: 'string', description: 'Token value to use instead of a random one (root only).' },
  policies: { type: 'comma-string-list', description: 'Policies for the token.' },
  meta: { type: 'string-map', description: 'Metadata attached to the token.' },
  no_parent: { type: 'bool', description: 'Creates an orphan token (root or sudo only).' },
  no_default_policy: { type: 'bool', description: 'Leaves the default policy out.' },
  renewable: { type: 'bool', description: 'Whether the token can be renewed.', default: true },
  ttl: { type: 'duration', description: 'Time to live, in seconds or as a duration string.' },
  lease: { type: 'duration', description: 'Deprecated alias of ttl.' },
  type: { type: 'string', description: 'Token type: "service" (stored) or "batch" (self-contained, not renewable).' },
  explicit_max_ttl: { type: 'duration', description: 'Hard cap on the lifetime, renewals included.' },
  display_name: { type: 'string', description: 'Name shown in audit logs and lookups.' },
  num_uses: { type: 'int', description: 'Number of uses before the token is revoked; 0 is unlimited.' },
  period: { type: 'duration', description: 'Makes a periodic token renewed to this TTL each time.' },
  entity_alias: { type: 'string', description: 'Not supported yet.' },
};

const tokenField: Record<string, FieldSpec> = { token: { type: 'string', description: 'The token.' } };
const accessorField: Record<string, FieldSpec> = { accessor: { type: 'string', description: 'The token accessor.' } };
const incrementField: FieldSpec = { type: 'duration', description: 'Requested TTL extension in seconds.' };

/** Builds the `auth/token/` paths: creation, lookup, renewal and revocation of tokens. */
/** Core services the token paths call without importing core. */
export interface TokenPathHooks {
  /** Asks the auth method that issued a login token whether it may still be renewed; throws if not. */
  checkAuthRenewal?(entry: TokenEntry): Promise<void>;
  /** Removes dangling token indexes and leases of revoked tokens. */
  tidy?(): Promise<void>;
}

export function tokenPaths(store: TokenStore, roles: TokenRoleStore, hooks: TokenPathHooks = {}): PathSpec[] {
  const callerEntry = async (ctx: HandlerContext): Promise<TokenEntry> => {
    const id = ctx.req.auth?.tokenId;
    // A batch token is not stored, so it is decoded again from the client token.
    const batch = ctx.req.auth?.tokenType === 'batch';
    let entry: TokenEntry | null = null;
    if (batch) entry = await store.lookup(ctx.req.clientToken ?? '');
    else if (id) entry = await store.lookupById(id, { allowExhausted: true });
    if (!entry) throw new PermissionDeniedError();
    return entry;
  };

  const byToken = async (ctx: HandlerContext): Promise<{ entry: TokenEntry; token: string }> => {
    const token = ctx.fields.token as string | undefined;
    if (!token) throw new BadRequestError('missing required field "token"');
    const entry = await store.lookup(token);
    if (!entry) throw new BadRequestError('bad token: the token is invalid or expired');
    return { entry, token };
  };

  const byAccessor = async (ctx: HandlerContext): Promise<TokenEntry> => {
    const accessor = ctx.fields.accessor as string | undefined;
    if (!accessor) throw new BadRequestError('missing required field "accessor"');
    const entry = await store.lookupByAccessor(accessor);
    if (!entry) throw new BadRequestError('invalid accessor: no token has that accessor');
    return entry;
  };

  const renewResponse = async (ctx: HandlerContext, entry: TokenEntry, token: string): Promise<LogicalResponse> => {
    const increment = ctx.fields.increment as number | undefined;
    if (entry.mountAccessor && hooks.checkAuthRenewal) await hooks.checkAuthRenewal(entry);
    const renewed = await store.renew(entry, increment || undefined, ctx.backend.system.maxLeaseTtl());
    return {
      authBlock: authBlock(token, renewed.entry, renewed.ttl),
      warnings: renewed.capped ? [`TTL of the token was capped at ${renewed.ttl} seconds by its max TTL`] : undefined,
    };
  };

  const create = (orphanPath: boolean) => async (ctx: HandlerContext): Promise<LogicalResponse> => {
    const parent = await callerEntry(ctx);
    const roleName = ctx.params.role_name;
    const role = roleName ? await roles.get(roleName) : null;
    if (roleName && !role) throw new BadRequestError(`unknown role "${roleName}"`);
    return createToken(ctx, store, parent, orphanPath, role);
  };

  return [
    { pattern: 'create', fields: createFields, operations: { update: create(false) } },
    { pattern: 'create-orphan', fields: createFields, operations: { update: create(true) } },
    { pattern: 'create/(?<role_name>[\\w.-]+)', fields: createFields, operations: { update: create(false) } },
    ...tokenRolePaths(roles),
    {
      pattern: 'lookup',
      fields: tokenField,
      operations: {
        update: async (ctx) => {
          const { entry, token } = await byToken(ctx);
          return { data: lookupData(entry, token) };
        },
      },
    },
    {
      pattern: 'lookup-self',
      fields: tokenField,
      operations: {
        read: async (ctx) => ({ data: lookupData(await callerEntry(ctx), ctx.req.clientToken ?? '') }),
        update: async (ctx) => ({ data: lookupData(await callerEntry(ctx), ctx.req.clientToken ?? '') }),
      },
    },
    {
      pattern: 'lookup-accessor',
      fields: accessorField,
      operations: { update: async (ctx) => ({ data: lookupData(await byAccessor(ctx), '') }) },
    },
    {
      pattern: 'renew',
      fields: { ...tokenField, increment: incrementField },
      operations: {
        update: async (ctx) => {
          const { entry, token } = await byToken(ctx);
          return renewResponse(ctx, entry, token);
        },
      },
    },
    {
      pattern: 'renew-self',
      fields: { ...tokenField, increment: incrementField },
      operations: { update: async (ctx) => renewResponse(ctx, await callerEntry(ctx), ctx.req.clientToken ?? '') },
    },
    {
      pattern: 'renew-accessor',
      fields: { ...accessorField, increment: incrementField },
      operations: { update: async (ctx) => renewResponse(ctx, await byAccessor(ctx), '') },
    },
    {
      pattern: 'revoke',
      fields: tokenField,
      operations: {
        update: async (ctx) => {
          const { entry } = await byToken(ctx);
          await store.revokeTree(entry);
          return null;
        },
      },
    },
    {
      pattern: 'revoke-self',
      operations: {
        update: async (ctx) => {
          await store.revokeTree(await callerEntry(ctx));
          return null;
        },
      },
    },
    {
      pattern: 'revoke-accessor',
      fields: accessorField,
      operations: {
        update: async (ctx) => {
          await store.revokeTree(await byAccessor(ctx));
          return null;
        },
      },
    },
    {
      pattern: 'revoke-orphan',
      fields: tokenField,
      operations: {
        update: async (ctx) => {
          const { entry } = await byToken(ctx);
          await store.revokeOrphan(entry);
          return null;
        },
      },
    },
    {
      pattern: 'tidy',
      operations: {
        update: async (ctx) => {
          const tidy = hooks.tidy;
          if (!tidy) throw new BadRequestError('tidy is not available');
          tidy().catch((err: unknown) => ctx.backend.logger.error({ err }, 'token store tidy failed'));
          return { raw: { status: 202, body: { request_id: ctx.req.id, warnings: ['Tidy operation successfully started. Any information from the operation will be printed to Coffer\'s server logs.'] } } };
        },
      },
    },
    {
      pattern: 'accessors/?',
      operations: {
        list: async (ctx) => {
          const keys = await store.listAccessors(readPage(ctx.req));
          return keys.length === 0 ? null : { data: { keys } };
        },
      },
    },
  ];
}

/** Creates a token for `auth/token/create`, `create-orphan` or `create/ROLE`. */
async function createToken(ctx: HandlerContext, store: TokenStore, parent: TokenEntry, orphanPath: boolean, role: TokenRole | null): Promise<LogicalResponse> {
  const input = ctx.fields;
  const privileged = parent.policies.includes('root') || Boolean(ctx.req.auth?.sudo);
  if (parent.type === 'batch') throw new BadRequestError('batch tokens cannot create child tokens');
  const orphan = role ? role.orphan : orphanPath || Boolean(input.no_parent);
  if (!role && orphan && !privileged) throw new BadRequestError('root or sudo privileges required to create an orphan token');
  if (input.id !== undefined && !parent.policies.includes('root')) throw new PermissionDeniedError('root privileges required to specify a token id');
  if (input.entity_alias !== undefined) throw new BadRequestError('entity_alias is not supported');
  if (input.num_uses !== undefined && (input.num_uses as number) < 0) throw new BadRequestError('num_uses cannot be negative');
  const type = tokenType(input.type as string | undefined, role);

  const requested = (input.policies as string[] | undefined)?.map((p) => p.toLowerCase());
  let policies: string[];
  if (role) {
    if (requested && requested.length > 0) policies = requested;
    else if (role.allowedPolicies.length > 0) policies = [...role.allowedPolicies];
    else policies = parent.policies.filter((p) => p !== 'default' && p !== 'root');
    checkRolePolicies(role, policies);
    // A role without allowed lists keeps the usual rule: a child gets only its parent's policies.
    const restricted = role.allowedPolicies.length > 0 || role.allowedPoliciesGlob.length > 0;
    if (!restricted && !privileged) TokenStore.checkPolicySubset(parent, policies);
  } else {
    policies = requested && requested.length > 0 ? requested : parent.policies.filter((p) => p !== 'default');
    if (requested && requested.length > 0 && !privileged) TokenStore.checkPolicySubset(parent, policies);
  }
  const noDefault = Boolean(input.no_default_policy) || Boolean(role?.noDefaultPolicy);
  if (!noDefault && !policies.includes('root')) policies = [...policies, 'default'];
  policies = [...new Set(policies)].sort();
  if (policies.includes('root') && !parent.policies.includes('root')) throw new PermissionDeniedError('root tokens may only be created by a root token');

  const rolePeriod = role?.period ?? 0;
  const ttl = tokenTtl(ctx, policies, parent, rolePeriod, role?.explicitMaxTtl ?? 0);
  const displayName = input.display_name ? `token-${String(input.display_name).replace(/[^\w.-]/g, '-')}` : 'token';
  const path = role ? `auth/token/create/${role.name}${role.pathSuffix ? `/${role.pathSuffix}` : ''}` : `auth/token/${orphanPath ? 'create-orphan' : 'create'}`;
  const createInput = {
    policies,
    parent,
    path,
    meta: input.meta as Record<string, string> | undefined,
    displayName,
    numUses: (input.num_uses as number | undefined) ?? role?.numUses ?? 0,
    ttl: ttl.ttl,
    explicitMaxTtl: (input.explicit_max_ttl as number | undefined) ?? role?.explicitMaxTtl ?? 0,
    period: rolePeriod || ((input.period as number | undefined) ?? 0),
    renewable: role ? role.renewable && input.renewable !== false : (input.renewable as boolean),
    orphan,
    tokenValue: input.id as string | undefined,
    boundCidrs: role?.boundCidrs,
  };
  if (type === 'batch' && createInput.numUses > 0) throw new BadRequestError('batch tokens cannot have num_uses');
  const { token, entry } = type === 'batch' ? store.createBatch(createInput) : await store.create(createInput);
  return { authBlock: authBlock(token, entry, ttl.ttl), warnings: ttl.warning ? [ttl.warning] : undefined };
}

/** Resolves the token type from the request and the role's setting. */
function tokenType(requested: string | undefined, role: TokenRole | null): 'service' | 'batch' {
  const roleType = role?.tokenType ?? 'default-service';
  if (roleType === 'service' || roleType === 'batch') {
    if (requested !== undefined && requested !== roleType) throw new BadRequestError(`the role only creates ${roleType} tokens`);
    return roleType;
  }
  const chosen = requested ?? (roleType === 'default-batch' ? 'batch' : 'service');
  if (chosen !== 'service' && chosen !== 'batch') throw new BadRequestError(`invalid token type "${chosen}": use "service" or "batch"`);
  return chosen;
}

/** Decides the token's TTL from the request, the parent and the mount's limits. */
function tokenTtl(ctx: HandlerContext, policies: string[], parent: TokenEntry, rolePeriod: number, roleExplicitMax: number): { ttl: number; warning?: string } {
  const system = ctx.backend.system;
  const period = rolePeriod || ((ctx.fields.period as number | undefined) ?? 0);
  const explicitMax = (ctx.fields.explicit_max_ttl as number | undefined) ?? roleExplicitMax;
  const requested = (ctx.fields.ttl as number | undefined) ?? (ctx.fields.lease as number | undefined);

  if (period > 0) {
    if (rolePeriod === 0 && !parent.policies.includes('root') && !ctx.req.auth?.sudo) throw new PermissionDeniedError('root or sudo privileges required to create a periodic token');
    return { ttl: explicitMax > 0 ? Math.min(period, explicitMax) : period };
  }
  // A root parent creating a root token without a TTL gets one that never expires, as in Vault.
  if (requested === undefined && policies.includes('root') && parent.expireTime === 0) return { ttl: 0 };

  let ttl = requested && requested > 0 ? requested : system.defaultLeaseTtl();
  let warning: string | undefined;
  const max = explicitMax > 0 ? Math.min(explicitMax, system.maxLeaseTtl()) : system.maxLeaseTtl();
  if (ttl > max) {
    ttl = max;
    warning = `requested TTL is higher than the max TTL; the TTL was capped at ${max} seconds`;
  }
  if (parent.expireTime !== 0) {
    const parentRemaining = Math.floor((parent.expireTime - Date.now()) / 1000);
    if (ttl > parentRemaining) ttl = Math.max(parentRemaining, 1);
  }
  return { ttl, warning };
}

/** Builds Vault's `auth` block for a token. */
export function authBlock(token: string, entry: TokenEntry, ttl: number): Record<string, unknown> {
  return {
    client_token: token,
    accessor: entry.accessor,
    policies: entry.policies,
    token_policies: entry.policies,
    identity_policies: null,
    metadata: Object.keys(entry.meta).length > 0 ? entry.meta : null,
    lease_duration: ttl,
    renewable: entry.renewable && !(entry.policies.includes('root') && entry.expireTime === 0),
    entity_id: entry.entityId,
    token_type: entry.type,
    orphan: entry.orphan,
    mfa_requirement: null,
    num_uses: entry.numUses,
  };
}

/** Builds the data of a token lookup; `token` is '' when looked up by accessor. */
export function lookupData(entry: TokenEntry, token: string): Record<string, unknown> {
  const now = Date.now();
  return {
    accessor: entry.accessor,
    creation_time: entry.creationTime,
    creation_ttl: entry.creationTtl,
    display_name: entry.displayName,
    entity_id: entry.entityId,
    expire_time: entry.expireTime === 0 ? null : new Date(entry.expireTime).toISOString(),
    explicit_max_ttl: entry.explicitMaxTtl,
    id: token,
    issue_time: new Date(entry.creationTime * 1000).toISOString(),
    last_renewal_time: entry.issueTime !== entry.creationTime * 1000 ? Math.floor(entry.issueTime / 1000) : undefined,
    meta: Object.keys(entry.meta).length > 0 ? entry.meta : null,
    num_uses: entry.numUses,
    orphan: entry.orphan,
    path: entry.path,
    period: entry.period > 0 ? entry.period : undefined,
    policies: entry.policies,
    bound_cidrs: entry.boundCidrs,
    renewable: entry.renewable && entry.expireTime !== 0,
    ttl: entry.expireTime === 0 ? 0 : Math.max(0, Math.floor((entry.expireTime - now) / 1000)),
    type: entry.type,
  };
}
