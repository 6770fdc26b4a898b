import { randomUUID } from 'node:crypto';
import { BadRequestError, NotFoundError } from '../../errors.js';
import { isPlainObject } from '../../framework/fields.js';
import type { FieldSpec, HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import { readPage } from '../../framework/paging.js';
import { checkCidrList, cidrsWithin } from '../../framework/cidr.js';
import { requireRole, roleNameOf } from './role-paths.js';
import type { AppRoleStore, RoleEntry, SecretIdEntry } from './store.js';

const ROLE_NAME = '(?<role_name>[^/]+)';

const SECRET_ID_SETTINGS: Record<string, FieldSpec> = {
  metadata: { type: 'any', description: 'Metadata of the secret ID, copied onto its tokens: a JSON object of strings, or that object as a JSON string.' },
  cidr_list: { type: 'comma-string-list', description: "CIDR blocks a login with this secret ID must come from; within the role's secret_id_bound_cidrs." },
  token_bound_cidrs: { type: 'comma-string-list', description: "CIDR blocks the issued tokens may be used from; within the role's token_bound_cidrs." },
  num_uses: { type: 'int', description: "Number of logins this secret ID allows; 0 takes the role's secret_id_num_uses." },
  ttl: { type: 'duration', description: "TTL of this secret ID, in seconds or as a duration; 0 takes the role's secret_id_ttl." },
};

const SECRET_ID_FIELD: Record<string, FieldSpec> = {
  secret_id: { type: 'string', description: 'The secret ID.', required: true },
};

const ACCESSOR_FIELD: Record<string, FieldSpec> = {
  secret_id_accessor: { type: 'string', description: 'Accessor of the secret ID.', required: true },
};

/** Returns the secret ID paths of a role: generate, custom, list, lookup and destroy. */
export function secretIdPaths(store: AppRoleStore): PathSpec[] {
  const destroyBySecretId = (ctx: HandlerContext) => destroySecretId(store, ctx);
  const destroyByAccessor = (ctx: HandlerContext) => destroyAccessor(store, ctx);
  return [
    {
      pattern: `role/${ROLE_NAME}/secret-id/?`,
      fields: SECRET_ID_SETTINGS,
      operations: {
        update: (ctx) => issueSecretId(store, ctx, randomUUID()),
        list: (ctx) => listAccessors(store, ctx),
      },
      help: 'Generates a secret ID for the role, or lists the accessors of its secret IDs.',
    },
    {
      pattern: `role/${ROLE_NAME}/custom-secret-id`,
      fields: { ...SECRET_ID_SETTINGS, ...SECRET_ID_FIELD },
      operations: { update: (ctx) => issueSecretId(store, ctx, ctx.fields.secret_id as string) },
      help: 'Registers a secret ID chosen by the caller for the role.',
    },
    {
      pattern: `role/${ROLE_NAME}/secret-id/lookup`,
      fields: SECRET_ID_FIELD,
      operations: { update: (ctx) => lookupSecretId(store, ctx) },
      help: 'Reads the properties of a secret ID.',
    },
    {
      pattern: `role/${ROLE_NAME}/secret-id/destroy`,
      fields: SECRET_ID_FIELD,
      operations: { update: destroyBySecretId, delete: destroyBySecretId },
      help: 'Deletes a secret ID.',
    },
    {
      pattern: `role/${ROLE_NAME}/secret-id-accessor/lookup`,
      fields: ACCESSOR_FIELD,
      operations: { update: (ctx) => lookupAccessor(store, ctx) },
      help: 'Reads the properties of a secret ID by its accessor.',
    },
    {
      pattern: `role/${ROLE_NAME}/secret-id-accessor/destroy`,
      fields: ACCESSOR_FIELD,
      operations: { update: destroyByAccessor, delete: destroyByAccessor },
      help: 'Deletes a secret ID by its accessor.',
    },
  ];
}

/** Checks the request's settings against the role and stores the secret ID. */
async function issueSecretId(store: AppRoleStore, ctx: HandlerContext, secretId: string): Promise<LogicalResponse> {
  const role = await requireRole(store, ctx);
  if (!role.bindSecretId) {
    throw new BadRequestError(`role "${role.name}" does not use secret IDs (bind_secret_id is false)`);
  }
  if (secretId === '') throw new BadRequestError('invalid "secret_id": cannot be empty');

  const settings = secretIdSettings(role, ctx);
  const entry = await store.createSecretId(role, secretId, settings);
  if (entry === null) throw new BadRequestError('that secret ID is already registered on the role; choose another value');
  return {
    data: {
      secret_id: secretId,
      secret_id_accessor: entry.accessor,
      secret_id_ttl: entry.ttl,
      secret_id_num_uses: entry.numUses,
    },
  };
}

function secretIdSettings(role: RoleEntry, ctx: HandlerContext) {
  const cidrList = checkCidrList('cidr_list', (ctx.fields.cidr_list as string[] | undefined) ?? []);
  if (role.secretIdBoundCidrs.length > 0 && !cidrsWithin(cidrList, role.secretIdBoundCidrs)) {
    throw new BadRequestError("invalid \"cidr_list\": every block must lie within the role's secret_id_bound_cidrs");
  }
  const tokenBoundCidrs = checkCidrList('token_bound_cidrs', (ctx.fields.token_bound_cidrs as string[] | undefined) ?? []);
  if (role.token.boundCidrs.length > 0 && !cidrsWithin(tokenBoundCidrs, role.token.boundCidrs)) {
    throw new BadRequestError("invalid \"token_bound_cidrs\": every block must lie within the role's token_bound_cidrs");
  }

  let numUses = (ctx.fields.num_uses as number | undefined) ?? 0;
  if (numUses < 0) throw new BadRequestError('invalid "num_uses": cannot be negative; use 0 for the role default');
  if (numUses === 0) numUses = role.secretIdNumUses;
  else if (role.secretIdNumUses > 0 && numUses > role.secretIdNumUses) {
    throw new BadRequestError(`invalid "num_uses": cannot be greater than the role's secret_id_num_uses (${role.secretIdNumUses})`);
  }

  let ttl = (ctx.fields.ttl as number | undefined) ?? 0;
  if (ttl === 0) ttl = role.secretIdTtl;
  else if (role.secretIdTtl > 0 && ttl > role.secretIdTtl) {
    throw new BadRequestError(`invalid "ttl": cannot be longer than the role's secret_id_ttl (${role.secretIdTtl}s)`);
  }

  return { cidrList, tokenBoundCidrs, metadata: parseMetadata(ctx.fields.metadata), numUses, ttl };
}

function parseMetadata(value: unknown): Record<string, string> {
  if (value === undefined || value === '') return {};
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new BadRequestError('invalid "metadata": expected a JSON object of strings, such as {"team": "web"}');
    }
  }
  if (!isPlainObject(parsed) || !Object.values(parsed).every((v) => typeof v === 'string')) {
    throw new BadRequestError('invalid "metadata": expected a JSON object of strings, such as {"team": "web"}');
  }
  return parsed as Record<string, string>;
}

async function listAccessors(store: AppRoleStore, ctx: HandlerContext): Promise<LogicalResponse | null> {
  const role = await requireRole(store, ctx);
  const keys = await store.listAccessors(role, readPage(ctx.req));
  return keys.length === 0 ? null : { data: { keys } };
}

async function lookupSecretId(store: AppRoleStore, ctx: HandlerContext): Promise<LogicalResponse | null> {
  const role = await requireRole(store, ctx);
  const entry = await store.findSecretId(role, ctx.fields.secret_id as string);
  return entry === null ? null : { data: secretIdData(entry) };
}

async function destroySecretId(store: AppRoleStore, ctx: HandlerContext): Promise<null> {
  const role = await requireRole(store, ctx);
  const entry = await store.findSecretId(role, ctx.fields.secret_id as string);
  if (entry !== null) await store.destroySecretId(role, entry);
  return null;
}

async function lookupAccessor(store: AppRoleStore, ctx: HandlerContext): Promise<LogicalResponse> {
  const role = await requireRole(store, ctx);
  return { data: secretIdData(await requireAccessor(store, role, ctx)) };
}

async function destroyAccessor(store: AppRoleStore, ctx: HandlerContext): Promise<null> {
  const role = await requireRole(store, ctx);
  await store.destroySecretId(role, await requireAccessor(store, role, ctx));
  return null;
}

async function requireAccessor(store: AppRoleStore, role: RoleEntry, ctx: HandlerContext): Promise<SecretIdEntry> {
  const accessor = ctx.fields.secret_id_accessor as string;
  const entry = await store.findByAccessor(role, accessor);
  if (entry === null) {
    const quoted = JSON.stringify(accessor.slice(0, 60));
    throw new NotFoundError(`no secret ID with accessor ${quoted} on role "${roleNameOf(ctx)}"`);
  }
  return entry;
}

/** Go's zero time, which Vault reports as the expiration of a secret ID that never expires. */
const NO_EXPIRY = '0001-01-01T00:00:00Z';

function secretIdData(entry: SecretIdEntry): Record<string, unknown> {
  return {
    cidr_list: entry.cidrList,
    creation_time: new Date(entry.creationTime).toISOString(),
    expiration_time: entry.expirationTime === 0 ? NO_EXPIRY : new Date(entry.expirationTime).toISOString(),
    last_updated_time: new Date(entry.lastUpdatedTime).toISOString(),
    metadata: entry.metadata,
    secret_id_accessor: entry.accessor,
    secret_id_num_uses: entry.numUses,
    secret_id_ttl: entry.ttl,
    token_bound_cidrs: entry.tokenBoundCidrs,
  };
}
