import { BadRequestError } from '../../errors.js';
import type { AuthInfo, FieldSpec, FieldValues } from '../../framework/types.js';
import { checkCidrList } from '../../framework/cidr.js';

/** The `token_type` values a role or user accepts. */
export const TOKEN_TYPES = ['default', 'service', 'batch', 'default-service', 'default-batch'] as const;
export type TokenTypeName = (typeof TOKEN_TYPES)[number];

/** The token settings Vault's auth methods share (`token_*` fields); durations are seconds. */
export interface TokenSettings {
  policies: string[];
  ttl: number;
  maxTtl: number;
  explicitMaxTtl: number;
  period: number;
  /** 0 means unlimited. */
  numUses: number;
  boundCidrs: string[];
  noDefaultPolicy: boolean;
  type: TokenTypeName;
}

/** Names of the shared token fields, as they appear in requests. */
export type TokenFieldName =
  | 'token_policies'
  | 'token_ttl'
  | 'token_max_ttl'
  | 'token_explicit_max_ttl'
  | 'token_period'
  | 'token_num_uses'
  | 'token_bound_cidrs'
  | 'token_no_default_policy'
  | 'token_type';

// No field has a default, so that an update changes only the fields the request names.
const TOKEN_FIELD_SPECS: Record<TokenFieldName, FieldSpec> = {
  token_policies: { type: 'comma-string-list', description: 'Policies of the issued tokens, as a list or a comma-separated string.' },
  token_ttl: { type: 'duration', description: 'TTL of issued tokens, in seconds or as a duration such as "1h"; 0 uses the mount default.' },
  token_max_ttl: { type: 'duration', description: 'Max TTL of issued tokens, renewals included, in seconds or as a duration; 0 uses the mount maximum.' },
  token_explicit_max_ttl: { type: 'duration', description: 'Hard cap on the life of issued tokens, in seconds or as a duration; 0 sets none.' },
  token_period: { type: 'duration', description: 'Period of issued tokens, in seconds or as a duration; non-zero makes them periodic.' },
  token_num_uses: { type: 'int', description: 'Number of uses of an issued token; 0 means unlimited.' },
  token_bound_cidrs: { type: 'comma-string-list', description: 'CIDR blocks the login must come from and the token may be used from.' },
  token_no_default_policy: { type: 'bool', description: 'Leaves the "default" policy off issued tokens.' },
  token_type: { type: 'string', description: `Type of issued tokens: ${TOKEN_TYPES.join(', ')}.` },
};

/**
 * Returns the field schema of the shared token fields, plus `policies` (the deprecated name of
 * `token_policies`) and any backend-specific deprecated aliases, which take the target's type.
 */
export function tokenFieldSpecs(aliases: Record<string, TokenFieldName> = {}): Record<string, FieldSpec> {
  const specs: Record<string, FieldSpec> = { ...TOKEN_FIELD_SPECS };
  specs.policies = { type: 'comma-string-list', description: 'Deprecated: use "token_policies".' };
  for (const [alias, target] of Object.entries(aliases)) {
    specs[alias] = { type: TOKEN_FIELD_SPECS[target].type, description: `Deprecated: use "${target}".` };
  }
  return specs;
}

/** Returns the settings of a new role or user before any field is applied. */
export function defaultTokenSettings(): TokenSettings {
  return {
    policies: [],
    ttl: 0,
    maxTtl: 0,
    explicitMaxTtl: 0,
    period: 0,
    numUses: 0,
    boundCidrs: [],
    noDefaultPolicy: false,
    type: 'default',
  };
}

/**
 * Applies the token fields present in a validated request to `current` and returns the result,
 * which is checked as a whole. A field takes its value from its `token_` name when present,
 * otherwise from its deprecated alias. Throws 400 on an invalid combination, and changes nothing.
 */
export function applyTokenFields(
  current: TokenSettings,
  fields: FieldValues,
  aliases: Record<string, TokenFieldName> = {},
): TokenSettings {
  const pick = (name: TokenFieldName): unknown => {
    if (fields[name] !== undefined) return fields[name];
    if (name === 'token_policies' && fields.policies !== undefined) return fields.policies;
    const alias = Object.keys(aliases).find((key) => aliases[key] === name && fields[key] !== undefined);
    return alias === undefined ? undefined : fields[alias];
  };
  const next: TokenSettings = { ...current };

  const policies = pick('token_policies') as string[] | undefined;
  if (policies !== undefined) next.policies = sanitizePolicies(policies);
  const ttl = pick('token_ttl') as number | undefined;
  if (ttl !== undefined) next.ttl = ttl;
  const maxTtl = pick('token_max_ttl') as number | undefined;
  if (maxTtl !== undefined) next.maxTtl = maxTtl;
  const explicitMaxTtl = pick('token_explicit_max_ttl') as number | undefined;
  if (explicitMaxTtl !== undefined) next.explicitMaxTtl = explicitMaxTtl;
  const period = pick('token_period') as number | undefined;
  if (period !== undefined) next.period = period;
  const numUses = pick('token_num_uses') as number | undefined;
  if (numUses !== undefined) next.numUses = numUses;
  const boundCidrs = pick('token_bound_cidrs') as string[] | undefined;
  if (boundCidrs !== undefined) next.boundCidrs = checkCidrList('token_bound_cidrs', boundCidrs);
  const noDefaultPolicy = pick('token_no_default_policy') as boolean | undefined;
  if (noDefaultPolicy !== undefined) next.noDefaultPolicy = noDefaultPolicy;
  const type = pick('token_type') as string | undefined;
  if (type !== undefined) next.type = parseTokenType(type);

  checkTokenSettings(next);
  return next;
}

function parseTokenType(value: string): TokenTypeName {
  const type = value === '' ? 'default' : value;
  if (!(TOKEN_TYPES as readonly string[]).includes(type)) {
    const quoted = JSON.stringify(value.slice(0, 40));
    throw new BadRequestError(`invalid "token_type" ${quoted}: use one of ${TOKEN_TYPES.join(', ')}`);
  }
  return type as TokenTypeName;
}

function checkTokenSettings(settings: TokenSettings): void {
  if (settings.numUses < 0) {
    throw new BadRequestError('invalid "token_num_uses": cannot be negative; use 0 for unlimited');
  }
  if (settings.maxTtl > 0 && settings.ttl > settings.maxTtl) {
    throw new BadRequestError(`"token_ttl" (${settings.ttl}s) cannot be greater than "token_max_ttl" (${settings.maxTtl}s)`);
  }
  const batch = settings.type === 'batch' || settings.type === 'default-batch';
  if (batch && settings.period > 0) {
    throw new BadRequestError('"token_type" cannot be batch when "token_period" is set, because batch tokens are not renewable');
  }
  if (batch && settings.numUses > 0) {
    throw new BadRequestError('"token_type" cannot be batch when "token_num_uses" is set, because batch tokens have no use count');
  }
}

/**
 * Normalizes a policy list as Vault does: trimmed, lower-cased, without empty entries or
 * duplicates, sorted.
 */
export function sanitizePolicies(policies: string[]): string[] {
  const names = policies.map((name) => name.trim().toLowerCase()).filter((name) => name !== '');
  return [...new Set(names)].sort();
}

/** Returns the settings as the `token_*` keys of a read response, with `policies` for old clients. */
export function tokenSettingsData(settings: TokenSettings): Record<string, unknown> {
  return {
    token_policies: settings.policies,
    policies: settings.policies,
    token_ttl: settings.ttl,
    token_max_ttl: settings.maxTtl,
    token_explicit_max_ttl: settings.explicitMaxTtl,
    token_period: settings.period,
    token_num_uses: settings.numUses,
    token_bound_cidrs: settings.boundCidrs,
    token_no_default_policy: settings.noDefaultPolicy,
    token_type: settings.type,
  };
}

/**
 * Builds the `auth` of a login response from the settings. `default-service` and `default-batch`
 * become `service` and `batch`, because a login request cannot ask for another type.
 */
export function authInfoFromSettings(
  settings: TokenSettings,
  identity: { metadata: Record<string, string>; displayName?: string; internalData: Record<string, unknown> },
): AuthInfo {
  let tokenType: AuthInfo['tokenType'] = 'default';
  if (settings.type === 'service' || settings.type === 'default-service') tokenType = 'service';
  if (settings.type === 'batch' || settings.type === 'default-batch') tokenType = 'batch';
  return {
    policies: [...settings.policies],
    noDefaultPolicy: settings.noDefaultPolicy,
    metadata: identity.metadata,
    displayName: identity.displayName,
    ttl: settings.ttl,
    maxTtl: settings.maxTtl,
    explicitMaxTtl: settings.explicitMaxTtl,
    period: settings.period,
    numUses: settings.numUses,
    renewable: true,
    boundCidrs: [...settings.boundCidrs],
    tokenType,
    internalData: identity.internalData,
  };
}
