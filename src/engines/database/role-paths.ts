import { BadRequestError } from '../../errors.js';
import type { FieldSpec, HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import { getJson, putJson } from '../../storage/storage.js';
import type { DatabaseEngine } from './engine.js';
import { checkName, configForRole, isRoleAllowed, pluginFor, readConfig, readRole, storageKeys, type DynamicRole } from './model.js';
import { checkUsername, databaseError } from './plugin.js';
import { readStatementList } from './statements.js';
import { UsernameTemplate } from './username-template.js';

/** Credential types a role may name; only passwords are issued by the built-in plugins. */
const SUPPORTED_CREDENTIAL_TYPES = new Set(['password']);
const KNOWN_CREDENTIAL_TYPES = new Set(['password', 'rsa_private_key', 'client_certificate']);

const ROLE_FIELDS: Record<string, FieldSpec> = {
  db_name: { type: 'string', description: 'Name of the database connection (database/config/NAME) the role uses.' },
  creation_statements: { type: 'any', description: 'Statements that create the user, with {{name}}, {{password}} and {{expiration}}.' },
  revocation_statements: { type: 'any', description: 'Statements that remove the user; empty uses a safe default per database.' },
  rollback_statements: { type: 'any', description: 'Statements that undo a failed creation.' },
  renew_statements: { type: 'any', description: 'Statements that extend the user, with {{name}} and {{expiration}}.' },
  default_ttl: { type: 'duration', description: 'Lease TTL of issued credentials; 0 means the mount default.' },
  max_ttl: { type: 'duration', description: 'Maximum lifetime of issued credentials; 0 means the mount maximum.' },
  credential_type: { type: 'string', description: 'Type of credential issued; only "password" is supported.' },
  credential_config: { type: 'map', description: 'Settings of the credential type.' },
};

/** Builds `roles/NAME` and `creds/NAME`. */
export function rolePaths(engine: DatabaseEngine): PathSpec[] {
  const storage = engine.backend.storage;
  return [
    {
      pattern: 'roles/?',
      operations: { list: async () => ({ data: { keys: await storage.list(storageKeys.rolePrefix) } }) },
      help: 'Lists the dynamic roles.',
    },
    {
      pattern: 'roles/(?<name>.+)',
      fields: ROLE_FIELDS,
      existenceCheck: async (ctx) => (await readRole(storage, ctx.params.name)) !== null,
      operations: {
        read: async (ctx) => {
          const role = await readRole(storage, nameOf(ctx));
          return role === null ? null : { data: { ...role } };
        },
        update: (ctx) => writeRole(engine, ctx),
        delete: async (ctx) => {
          await storage.delete(storageKeys.role(nameOf(ctx)));
          return null;
        },
      },
      help: 'Defines how dynamic users are created, renewed and removed, and their lease TTLs.',
    },
    {
      pattern: 'creds/(?<name>.+)',
      operations: { read: (ctx) => issueCredentials(engine, ctx) },
      help: 'Creates a database user for the role and returns its username and password under a lease.',
    },
  ];
}

async function writeRole(engine: DatabaseEngine, ctx: HandlerContext): Promise<LogicalResponse | null> {
  const name = nameOf(ctx);
  const { fields } = ctx;
  const storage = engine.backend.storage;
  const existing = await getJson<DynamicRole>(storage, storageKeys.role(name));

  const role: DynamicRole = {
    db_name: (fields.db_name as string | undefined) ?? existing?.db_name ?? '',
    creation_statements: statementsField(fields, 'creation_statements', existing),
    revocation_statements: statementsField(fields, 'revocation_statements', existing),
    rollback_statements: statementsField(fields, 'rollback_statements', existing),
    renew_statements: statementsField(fields, 'renew_statements', existing),
    default_ttl: (fields.default_ttl as number | undefined) ?? existing?.default_ttl ?? 0,
    max_ttl: (fields.max_ttl as number | undefined) ?? existing?.max_ttl ?? 0,
    credential_type: (fields.credential_type as string | undefined) ?? existing?.credential_type ?? 'password',
    credential_config: (fields.credential_config as Record<string, unknown> | undefined) ?? existing?.credential_config ?? {},
  };
  if (role.db_name === '') throw new BadRequestError('missing required field "db_name"');
  checkCredentialType(role.credential_type);
  if (role.max_ttl > 0 && role.default_ttl > role.max_ttl) {
    throw new BadRequestError(`default_ttl (${role.default_ttl}s) is longer than max_ttl (${role.max_ttl}s)`);
  }

  // The connection may be written after the role, as in Vault, so a missing one only warns here.
  const warnings: string[] = [];
  const config = await readConfig(storage, role.db_name);
  if (config === null) {
    warnings.push(`database connection ${JSON.stringify(role.db_name)} does not exist yet; credentials fail until it does`);
  } else {
    if (!isRoleAllowed(config.allowed_roles, name)) {
      warnings.push(`database connection ${JSON.stringify(role.db_name)} does not list this role in allowed_roles; credentials fail until it does`);
    }
    if (role.creation_statements.length === 0 && !pluginFor(config.plugin_name).creationStatementsOptional) {
      throw new BadRequestError('missing required field "creation_statements"');
    }
  }
  await putJson(storage, storageKeys.role(name), role);
  return warnings.length > 0 ? { warnings } : null;
}

/**
 * Creates a user in the database and returns it as a lease. The database's error reaches the
 * caller (without the password) and no lease is returned, so nothing has to be revoked.
 */
async function issueCredentials(engine: DatabaseEngine, ctx: HandlerContext): Promise<LogicalResponse> {
  const roleName = nameOf(ctx);
  const storage = engine.backend.storage;
  const role = await readRole(storage, roleName);
  if (role === null) throw new BadRequestError(`unknown role: ${roleName}`);
  checkCredentialType(role.credential_type);
  await configForRole(storage, role.db_name, roleName);
  const { config, plugin, descriptor } = await engine.plugin(role.db_name);

  const system = engine.backend.system;
  const maxTtl = Math.min(role.max_ttl > 0 ? role.max_ttl : system.maxLeaseTtl(), system.maxLeaseTtl());
  const ttl = Math.min(role.default_ttl > 0 ? role.default_ttl : system.defaultLeaseTtl(), maxTtl);

  const templateText = config.connection_details.username_template;
  const template = UsernameTemplate.parse(typeof templateText === 'string' && templateText !== '' ? templateText : descriptor.defaultUsernameTemplate);
  const username = template.render({ DisplayName: ctx.req.auth?.displayName ?? '', RoleName: roleName });
  checkUsername(username, descriptor);
  const password = await engine.generatePassword(config);

  try {
    await plugin.newUser({
      username,
      password,
      expiration: new Date(Date.now() + ttl * 1000),
      statements: role.creation_statements,
      rollbackStatements: role.rollback_statements,
    });
  } catch (err) {
    throw databaseError(`creating a user for role ${JSON.stringify(roleName)} failed`, err, [password]);
  }
  engine.backend.logger.info({ role: roleName, db_name: role.db_name, username }, 'created a dynamic database user');

  return {
    data: { username, password },
    secret: {
      type: 'creds',
      ttl,
      maxTtl,
      renewable: true,
      internalData: {
        username,
        role: roleName,
        db_name: role.db_name,
        max_ttl: maxTtl,
        revocation_statements: role.revocation_statements,
        renew_statements: role.renew_statements,
      },
    },
  };
}

function statementsField(fields: Record<string, unknown>, key: keyof DynamicRole, existing: DynamicRole | null): string[] {
  if (fields[key] !== undefined) return readStatementList(key, fields[key]);
  return (existing?.[key] as string[] | undefined) ?? [];
}

export function checkCredentialType(type: string): void {
  if (SUPPORTED_CREDENTIAL_TYPES.has(type)) return;
  if (KNOWN_CREDENTIAL_TYPES.has(type)) {
    throw new BadRequestError(`credential_type ${JSON.stringify(type)} is not supported by the PostgreSQL, MySQL and Redis plugins; use "password"`);
  }
  throw new BadRequestError(`invalid credential_type ${JSON.stringify(type.slice(0, 50))}: use "password"`);
}

function nameOf(ctx: HandlerContext): string {
  const name = ctx.params.name ?? '';
  checkName('role', name);
  return name;
}
