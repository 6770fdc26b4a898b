import { BadRequestError } from '../../errors.js';
import type { FieldSpec, HandlerContext, PathSpec } from '../../framework/types.js';
import { getJson, putJson, type Storage } from '../../storage/storage.js';
import { readPage } from '../../framework/paging.js';

/** A token role: the bounds of tokens created through `auth/token/create/NAME`. */
export interface TokenRole {
  name: string;
  allowedPolicies: string[];
  disallowedPolicies: string[];
  allowedPoliciesGlob: string[];
  disallowedPoliciesGlob: string[];
  orphan: boolean;
  renewable: boolean;
  pathSuffix: string;
  /** Seconds. */
  period: number;
  /** Seconds. */
  explicitMaxTtl: number;
  tokenType: 'service' | 'batch' | 'default-service' | 'default-batch';
  boundCidrs: string[];
  noDefaultPolicy: boolean;
  numUses: number;
}

const roleFields: Record<string, FieldSpec> = {
  allowed_policies: { type: 'comma-string-list', description: 'Policies tokens of this role may have; empty allows any the caller may grant.' },
  disallowed_policies: { type: 'comma-string-list', description: 'Policies tokens of this role may never have.' },
  allowed_policies_glob: { type: 'comma-string-list', description: 'Glob patterns of allowed policies.' },
  disallowed_policies_glob: { type: 'comma-string-list', description: 'Glob patterns of disallowed policies.' },
  orphan: { type: 'bool', description: 'Creates orphan tokens.' },
  renewable: { type: 'bool', description: 'Whether the tokens can be renewed.' },
  path_suffix: { type: 'string', description: 'Suffix appended to the creation path, for revocation by prefix.' },
  token_period: { type: 'duration', description: 'Makes the tokens periodic with this period.' },
  period: { type: 'duration', description: 'Deprecated alias of token_period.' },
  token_explicit_max_ttl: { type: 'duration', description: 'Hard cap on the tokens\u2019 lifetime.' },
  explicit_max_ttl: { type: 'duration', description: 'Deprecated alias of token_explicit_max_ttl.' },
  token_type: { type: 'string', description: 'service, batch, default-service or default-batch.' },
  token_bound_cidrs: { type: 'comma-string-list', description: 'CIDR blocks the tokens may be used from.' },
  bound_cidrs: { type: 'comma-string-list', description: 'Deprecated alias of token_bound_cidrs.' },
  token_no_default_policy: { type: 'bool', description: 'Leaves the default policy off the tokens.' },
  token_num_uses: { type: 'int', description: 'Uses per token; 0 is unlimited.' },
  allowed_entity_aliases: { type: 'comma-string-list', description: 'Not supported.' },
};

const TOKEN_TYPES = new Set(['service', 'batch', 'default-service', 'default-batch', 'default']);

/** Stores token roles under `roles/NAME`. */
export class TokenRoleStore {
  constructor(private readonly storage: Storage) {}

  get(name: string): Promise<TokenRole | null> {
    return getJson<TokenRole>(this.storage, `roles/${name.toLowerCase()}`);
  }

  put(role: TokenRole): Promise<void> {
    return putJson(this.storage, `roles/${role.name}`, role);
  }

  delete(name: string): Promise<void> {
    return this.storage.delete(`roles/${name.toLowerCase()}`);
  }

  list(options: { after?: string; limit?: number }): Promise<string[]> {
    return this.storage.list('roles/', options);
  }
}

/** Checks requested policies against a role's allowed and disallowed lists and globs. */
export function checkRolePolicies(role: TokenRole, policies: string[]): void {
  for (const policy of policies) {
    const defaultDisallowed = role.disallowedPolicies.includes('default') || role.disallowedPoliciesGlob.some((glob) => globMatch(glob, 'default'));
    if (policy === 'default' && !defaultDisallowed) continue;
    if (role.disallowedPolicies.includes(policy) || role.disallowedPoliciesGlob.some((glob) => globMatch(glob, policy))) {
      throw new BadRequestError(`token policies (${policy}) must not be in the role's disallowed policies`);
    }
    const restricted = role.allowedPolicies.length > 0 || role.allowedPoliciesGlob.length > 0;
    if (restricted && !role.allowedPolicies.includes(policy) && !role.allowedPoliciesGlob.some((glob) => globMatch(glob, policy))) {
      throw new BadRequestError(`token policies (${policy}) must be a subset of the role's allowed policies`);
    }
  }
}

/** Matches a policy name against a glob with `*` wildcards. */
function globMatch(glob: string, name: string): boolean {
  const pattern = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${pattern}$`).test(name);
}

function roleData(role: TokenRole): Record<string, unknown> {
  return {
    name: role.name,
    allowed_policies: role.allowedPolicies,
    disallowed_policies: role.disallowedPolicies,
    allowed_policies_glob: role.allowedPoliciesGlob,
    disallowed_policies_glob: role.disallowedPoliciesGlob,
    orphan: role.orphan,
    renewable: role.renewable,
    path_suffix: role.pathSuffix,
    token_period: role.period,
    period: role.period,
    token_explicit_max_ttl: role.explicitMaxTtl,
    explicit_max_ttl: role.explicitMaxTtl,
    token_type: role.tokenType,
    token_bound_cidrs: role.boundCidrs,
    bound_cidrs: role.boundCidrs,
    token_no_default_policy: role.noDefaultPolicy,
    token_num_uses: role.numUses,
    allowed_entity_aliases: null,
  };
}

function roleFromFields(name: string, existing: TokenRole | null, f: HandlerContext['fields']): TokenRole {
  const pick = <T>(value: unknown, fallback: T): T => (value === undefined ? fallback : (value as T));
  const tokenType = pick<string>(f.token_type, existing?.tokenType ?? 'default-service');
  if (!TOKEN_TYPES.has(tokenType)) throw new BadRequestError(`invalid token_type "${tokenType}": use service, batch, default-service or default-batch`);
  if (f.allowed_entity_aliases !== undefined) throw new BadRequestError('allowed_entity_aliases is not supported');
  const pathSuffix = pick<string>(f.path_suffix, existing?.pathSuffix ?? '');
  if (pathSuffix.includes('..') || pathSuffix.startsWith('/')) throw new BadRequestError('invalid path_suffix: it cannot contain ".." or start with "/"');
  const lower = (list: unknown, fallback: string[]) => (list === undefined ? fallback : (list as string[]).map((p) => p.toLowerCase()));
  const role: TokenRole = {
    name,
    allowedPolicies: lower(f.allowed_policies, existing?.allowedPolicies ?? []),
    disallowedPolicies: lower(f.disallowed_policies, existing?.disallowedPolicies ?? []),
    allowedPoliciesGlob: lower(f.allowed_policies_glob, existing?.allowedPoliciesGlob ?? []),
    disallowedPoliciesGlob: lower(f.disallowed_policies_glob, existing?.disallowedPoliciesGlob ?? []),
    orphan: pick(f.orphan, existing?.orphan ?? false),
    renewable: pick(f.renewable, existing?.renewable ?? true),
    pathSuffix,
    period: pick(f.token_period ?? f.period, existing?.period ?? 0),
    explicitMaxTtl: pick(f.token_explicit_max_ttl ?? f.explicit_max_ttl, existing?.explicitMaxTtl ?? 0),
    tokenType: tokenType === 'default' ? 'default-service' : (tokenType as TokenRole['tokenType']),
    boundCidrs: pick(f.token_bound_cidrs ?? f.bound_cidrs, existing?.boundCidrs ?? []),
    noDefaultPolicy: pick(f.token_no_default_policy, existing?.noDefaultPolicy ?? false),
    numUses: pick(f.token_num_uses, existing?.numUses ?? 0),
  };
  if (role.numUses < 0) throw new BadRequestError('token_num_uses cannot be negative');
  return role;
}

/** Builds the `auth/token/roles` paths. */
export function tokenRolePaths(roles: TokenRoleStore): PathSpec[] {
  return [
    {
      pattern: 'roles/?',
      operations: {
        list: async (ctx) => {
          const keys = await roles.list(readPage(ctx.req));
          return keys.length === 0 ? null : { data: { keys } };
        },
      },
    },
    {
      pattern: 'roles/(?<role_name>[\\w.-]+)',
      fields: roleFields,
      existenceCheck: async (ctx) => (await roles.get(ctx.params.role_name)) !== null,
      operations: {
        read: async (ctx) => {
          const role = await roles.get(ctx.params.role_name);
          return role ? { data: roleData(role) } : null;
        },
        update: async (ctx) => {
          const name = ctx.params.role_name.toLowerCase();
          await roles.put(roleFromFields(name, await roles.get(name), ctx.fields));
          return null;
        },
        delete: async (ctx) => {
          await roles.delete(ctx.params.role_name);
          return null;
        },
      },
    },
  ];
}
