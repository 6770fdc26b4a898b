import { randomBytes, randomUUID } from 'node:crypto';
import { BadRequestError, NotFoundError } from '../../errors.js';
import type { FieldSpec, FieldValues, HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import { readPage } from '../../framework/paging.js';
import { checkCidrList } from '../../framework/cidr.js';
import { applyTokenFields, defaultTokenSettings, tokenFieldSpecs, tokenSettingsData } from '../common/token-fields.js';
import type { AppRoleStore, RoleEntry } from './store.js';

const ROLE_NAME = '(?<role_name>[^/]+)';

/** AppRole's deprecated `period` is the shared `token_period`. */
const TOKEN_ALIASES = { period: 'token_period' } as const;

const ROLE_FIELDS: Record<string, FieldSpec> = {
  role_id: { type: 'string', description: 'Role ID of the role; a random UUID when not given at creation.' },
  bind_secret_id: { type: 'bool', description: 'Requires a secret ID at login (default true).' },
  secret_id_bound_cidrs: { type: 'comma-string-list', description: 'CIDR blocks a login with a secret ID of this role must come from.' },
  secret_id_num_uses: { type: 'int', description: 'Default number of uses of a new secret ID; 0 means unlimited.' },
  secret_id_ttl: { type: 'duration', description: 'Default TTL of a new secret ID, in seconds or as a duration; 0 means no expiry.' },
  local_secret_ids: { type: 'bool', description: 'Accepted for compatibility; can be set only when the role is created.' },
  ...tokenFieldSpecs(TOKEN_ALIASES),
};

/** A single role property with its own path, for delegating one setting through ACLs. */
interface RoleProperty {
  segment: string;
  /** Request fields the path accepts; the first is the one a write must give. */
  fields: string[];
  /** Value each field takes when the property is deleted. */
  reset: Record<string, unknown>;
}

const ROLE_PROPERTIES: RoleProperty[] = [
  { segment: 'policies', fields: ['token_policies', 'policies'], reset: { token_policies: [] } },
  { segment: 'secret-id-num-uses', fields: ['secret_id_num_uses'], reset: { secret_id_num_uses: 0 } },
  { segment: 'secret-id-ttl', fields: ['secret_id_ttl'], reset: { secret_id_ttl: 0 } },
  { segment: 'token-ttl', fields: ['token_ttl'], reset: { token_ttl: 0 } },
  { segment: 'token-max-ttl', fields: ['token_max_ttl'], reset: { token_max_ttl: 0 } },
  { segment: 'token-num-uses', fields: ['token_num_uses'], reset: { token_num_uses: 0 } },
  { segment: 'bind-secret-id', fields: ['bind_secret_id'], reset: { bind_secret_id: true } },
  { segment: 'secret-id-bound-cidrs', fields: ['secret_id_bound_cidrs'], reset: { secret_id_bound_cidrs: [] } },
  { segment: 'token-bound-cidrs', fields: ['token_bound_cidrs'], reset: { token_bound_cidrs: [] } },
  { segment: 'period', fields: ['token_period', 'period'], reset: { token_period: 0 } },
];

/** Returns the role management paths: list, read, write, delete, role ID and single properties. */
export function rolePaths(store: AppRoleStore): PathSpec[] {
  const roleExists = async (ctx: HandlerContext) => (await store.getRole(roleNameOf(ctx))) !== null;
  return [
    {
      pattern: 'role/?',
      operations: { list: (ctx) => listRoles(store, ctx) },
      help: 'Lists the names of the roles.',
    },
    {
      pattern: `role/${ROLE_NAME}`,
      fields: ROLE_FIELDS,
      existenceCheck: roleExists,
      operations: {
        read: (ctx) => readRole(store, ctx),
        update: (ctx) => writeRole(store, ctx, ctx.fields, { mustExist: false }),
        delete: (ctx) => deleteRole(store, ctx),
      },
      help: 'Creates, reads, updates and deletes a role.',
    },
    {
      pattern: `role/${ROLE_NAME}/role-id`,
      fields: { role_id: { type: 'string', description: 'New role ID of the role; required on write.' } },
      operations: {
        read: (ctx) => readRoleId(store, ctx),
        update: (ctx) => {
          if (ctx.fields.role_id === undefined) throw new BadRequestError('missing "role_id"');
          return writeRole(store, ctx, { role_id: ctx.fields.role_id }, { mustExist: true });
        },
      },
      help: 'Reads or sets the role ID of a role.',
    },
    ...ROLE_PROPERTIES.map((property) => propertyPath(store, property, roleExists)),
  ];
}

function propertyPath(store: AppRoleStore, property: RoleProperty, roleExists: PathSpec['existenceCheck']): PathSpec {
  const fields: Record<string, FieldSpec> = {};
  for (const name of property.fields) fields[name] = ROLE_FIELDS[name];
  return {
    pattern: `role/${ROLE_NAME}/${property.segment}`,
    fields,
    existenceCheck: roleExists,
    operations: {
      read: async (ctx) => {
        const role = await store.getRole(roleNameOf(ctx));
        if (role === null) return null;
        const data = roleData(role);
        return { data: Object.fromEntries(property.fields.map((name) => [name, data[name]])) };
      },
      update: (ctx) => {
        if (property.fields.every((name) => ctx.fields[name] === undefined)) {
          throw new BadRequestError(`missing "${property.fields[0]}"`);
        }
        return writeRole(store, ctx, ctx.fields, { mustExist: true });
      },
      delete: (ctx) => writeRole(store, ctx, property.reset, { mustExist: true }),
    },
    help: `Reads, sets or resets the ${property.fields[0]} setting of a role.`,
  };
}

/** Returns the validated, lower-cased role name of the request path. */
export function roleNameOf(ctx: HandlerContext): string {
  const name = (ctx.params.role_name ?? '').toLowerCase();
  if (name === '' || Buffer.byteLength(name) >= 4096 || !/^[\w .-]+$/.test(name)) {
    const quoted = JSON.stringify(name.slice(0, 60));
    throw new BadRequestError(`invalid role name ${quoted}: use letters, digits, space, "-", "_" and "." (under 4096 bytes)`);
  }
  return name;
}

/** Loads the request's role for a secret ID operation; a missing role is a 400, as in Vault. */
export async function requireRole(store: AppRoleStore, ctx: HandlerContext): Promise<RoleEntry> {
  const name = roleNameOf(ctx);
  const role = await store.getRole(name);
  if (role === null) throw new BadRequestError(`role "${name}" does not exist`);
  return role;
}

async function listRoles(store: AppRoleStore, ctx: HandlerContext): Promise<LogicalResponse | null> {
  const keys = await store.listRoles(readPage(ctx.req));
  return keys.length === 0 ? null : { data: { keys } };
}

async function readRole(store: AppRoleStore, ctx: HandlerContext): Promise<LogicalResponse | null> {
  const role = await store.getRole(roleNameOf(ctx));
  return role === null ? null : { data: roleData(role) };
}

async function readRoleId(store: AppRoleStore, ctx: HandlerContext): Promise<LogicalResponse | null> {
  const role = await store.getRole(roleNameOf(ctx));
  return role === null ? null : { data: { role_id: role.roleId } };
}

function roleData(role: RoleEntry): Record<string, unknown> {
  return {
    bind_secret_id: role.bindSecretId,
    secret_id_bound_cidrs: role.secretIdBoundCidrs,
    secret_id_num_uses: role.secretIdNumUses,
    secret_id_ttl: role.secretIdTtl,
    local_secret_ids: role.localSecretIds,
    ...tokenSettingsData(role.token),
    period: role.token.period,
  };
}

/**
 * Creates or updates a role from the given fields; fields that are absent keep their value. Every
 * check runs before the single storage transaction, so a rejected request changes nothing.
 */
async function writeRole(
  store: AppRoleStore,
  ctx: HandlerContext,
  fields: FieldValues,
  options: { mustExist: boolean },
): Promise<LogicalResponse | null> {
  const name = roleNameOf(ctx);
  return store.roleLock.run('roles', async () => {
    const existing = await store.getRole(name);
    if (existing === null && options.mustExist) throw new NotFoundError(`role "${name}" does not exist`);

    const role = applyRoleFields(existing ?? newRole(name), fields, existing !== null);
    if (role.roleId !== existing?.roleId) {
      const owner = await store.roleNameForRoleId(role.roleId);
      if (owner !== null && owner !== name) throw new BadRequestError('role_id is already in use by another role; choose another value');
    }
    await store.putRole(role, existing?.roleId ?? null);

    const maxLeaseTtl = ctx.backend.system.maxLeaseTtl();
    if (role.token.maxTtl > maxLeaseTtl) {
      return { warnings: [`token_max_ttl is greater than the mount's max TTL of ${maxLeaseTtl} seconds; issued tokens will be capped to it`] };
    }
    return null;
  });
}

function newRole(name: string): RoleEntry {
  return {
    name,
    roleId: randomUUID(),
    bindSecretId: true,
    secretIdBoundCidrs: [],
    secretIdNumUses: 0,
    secretIdTtl: 0,
    localSecretIds: false,
    token: defaultTokenSettings(),
    secretIdFolder: randomBytes(16).toString('hex'),
  };
}

function applyRoleFields(current: RoleEntry, fields: FieldValues, exists: boolean): RoleEntry {
  const role: RoleEntry = { ...current };

  if (fields.role_id !== undefined) {
    const roleId = String(fields.role_id).trim();
    if (roleId === '') throw new BadRequestError('invalid "role_id": cannot be empty');
    role.roleId = roleId;
  }
  if (fields.bind_secret_id !== undefined) role.bindSecretId = fields.bind_secret_id as boolean;
  if (fields.secret_id_bound_cidrs !== undefined) {
    role.secretIdBoundCidrs = checkCidrList('secret_id_bound_cidrs', fields.secret_id_bound_cidrs as string[]);
  }
  if (fields.secret_id_num_uses !== undefined) {
    const uses = fields.secret_id_num_uses as number;
    if (uses < 0) throw new BadRequestError('invalid "secret_id_num_uses": cannot be negative; use 0 for unlimited');
    role.secretIdNumUses = uses;
  }
  if (fields.secret_id_ttl !== undefined) role.secretIdTtl = fields.secret_id_ttl as number;
  if (fields.local_secret_ids !== undefined) {
    const local = fields.local_secret_ids as boolean;
    if (exists && local !== current.localSecretIds) {
      throw new BadRequestError('"local_secret_ids" can be set only when the role is created');
    }
    role.localSecretIds = local;
  }
  role.token = applyTokenFields(current.token, fields, TOKEN_ALIASES);

  if (!role.bindSecretId && role.secretIdBoundCidrs.length === 0 && role.token.boundCidrs.length === 0) {
    throw new BadRequestError(
      'at least one constraint must be enabled on the role: set bind_secret_id, secret_id_bound_cidrs or token_bound_cidrs',
    );
  }
  return role;
}

async function deleteRole(store: AppRoleStore, ctx: HandlerContext): Promise<null> {
  const name = roleNameOf(ctx);
  await store.roleLock.run('roles', async () => {
    const role = await store.getRole(name);
    if (role !== null) await store.deleteRole(role);
  });
  return null;
}
