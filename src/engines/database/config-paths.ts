import { BadRequestError } from '../../errors.js';
import type { FieldSpec, HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import type { DatabaseEngine } from './engine.js';
import { checkName, pluginFor, readConfig, storageKeys, writeConfig, type DatabaseConfig } from './model.js';
import { DatabaseUnavailableError, SECRET_CONNECTION_FIELDS, scrubSecrets, type ConnectionDetails } from './plugin.js';
import { readStatementList } from './statements.js';
import { UsernameTemplate } from './username-template.js';

/** Plugin connection fields a config write accepts, stored under `connection_details`. */
const CONNECTION_FIELDS: Record<string, FieldSpec> = {
  connection_url: { type: 'string', description: 'Connection string; {{username}} and {{password}} are replaced by "username" and "password".' },
  username: { type: 'string', description: 'The user Coffer connects as to manage users.' },
  password: { type: 'string', description: 'The password of "username"; never returned by a read.' },
  max_open_connections: { type: 'int', description: 'Most open connections in the pool (default 4).' },
  max_idle_connections: { type: 'int', description: 'Most idle connections (0: as many as open; negative: none).' },
  max_connection_lifetime: { type: 'duration', description: 'Seconds a connection may be reused; 0 means no limit.' },
  username_template: { type: 'string', description: 'Template for dynamic usernames, in Vault username template syntax.' },
  disable_escaping: { type: 'bool', description: 'Accepted for Vault compatibility; credentials are never escaped into the URL.' },
  password_authentication: { type: 'string', description: 'Accepted for Vault compatibility; PostgreSQL hashes passwords itself.' },
  tls_ca: { type: 'string', description: 'PEM CA certificate that verifies the database server.' },
  tls_certificate: { type: 'string', description: 'PEM client certificate (PostgreSQL).' },
  private_key: { type: 'string', description: 'PEM client private key (PostgreSQL); never returned by a read.' },
  tls_certificate_key: { type: 'string', description: 'PEM client certificate and private key together (MySQL); never returned.' },
  tls_server_name: { type: 'string', description: 'Server name expected in the certificate (MySQL).' },
  tls_skip_verify: { type: 'bool', description: 'Skip verification of the server certificate (MySQL); not for production.' },
  host: { type: 'string', description: 'Redis host.' },
  port: { type: 'int', description: 'Redis port.' },
  tls: { type: 'bool', description: 'Connect to Redis over TLS.' },
  insecure_tls: { type: 'bool', description: 'Skip verification of the Redis server certificate; not for production.' },
  ca_cert: { type: 'string', description: 'PEM CA certificate that verifies the Redis server.' },
};

const CONFIG_FIELDS: Record<string, FieldSpec> = {
  plugin_name: { type: 'string', description: 'postgresql-database-plugin, mysql-database-plugin (or an alias) or redis-database-plugin.' },
  plugin_version: { type: 'string', description: 'Accepted for Vault compatibility; the built-in plugins have no versions.' },
  verify_connection: { type: 'bool', description: 'Connect before saving and reject the config when that fails (default true).' },
  allowed_roles: { type: 'comma-string-list', description: 'Roles that may use this connection; "*" and globs allowed.' },
  root_rotation_statements: { type: 'any', description: 'Statements that change the root password, with {{username}} and {{password}}.' },
  password_policy: { type: 'string', description: 'Name of the password policy for generated passwords.' },
  ...CONNECTION_FIELDS,
};

/** Builds `config/NAME`, `reset/NAME` and `rotate-root/NAME`. */
export function configPaths(engine: DatabaseEngine): PathSpec[] {
  return [
    {
      pattern: 'config/?',
      operations: { list: async () => ({ data: { keys: await engine.backend.storage.list(storageKeys.configPrefix) } }) },
      help: 'Lists the database connections.',
    },
    {
      pattern: 'config/(?<name>.+)',
      fields: CONFIG_FIELDS,
      existenceCheck: async (ctx) => (await readConfig(engine.backend.storage, ctx.params.name)) !== null,
      operations: {
        read: (ctx) => readConnection(engine, ctx),
        update: (ctx) => writeConnection(engine, ctx),
        delete: (ctx) => deleteConnection(engine, ctx),
      },
      help: 'Configures a database connection. A read never returns passwords or private keys.',
    },
    {
      pattern: 'reset/(?<name>.+)',
      operations: {
        update: async (ctx) => {
          const name = nameOf(ctx);
          if ((await readConfig(engine.backend.storage, name)) === null) throw notFound(name);
          await engine.connections.close(name);
          return null;
        },
      },
      help: 'Closes the connections of a database so the next request reopens them from the stored config.',
    },
    {
      pattern: 'rotate-root/(?<name>.+)',
      operations: { update: (ctx) => rotateRoot(engine, nameOf(ctx)) },
      help: 'Changes the root password in the database; afterwards no one can read it.',
    },
  ];
}

async function readConnection(engine: DatabaseEngine, ctx: HandlerContext): Promise<LogicalResponse | null> {
  const config = await readConfig(engine.backend.storage, nameOf(ctx));
  if (config === null) return null;

  const details: ConnectionDetails = {};
  for (const [key, value] of Object.entries(config.connection_details)) {
    if (!SECRET_CONNECTION_FIELDS.has(key)) details[key] = value;
  }
  if (typeof details.connection_url === 'string') details.connection_url = maskConnectionUrl(details.connection_url);
  return {
    data: {
      plugin_name: config.plugin_name,
      plugin_version: '',
      connection_details: details,
      allowed_roles: config.allowed_roles,
      root_credentials_rotate_statements: config.root_rotation_statements,
      password_policy: config.password_policy,
      verify_connection: config.verify_connection,
    },
  };
}

async function writeConnection(engine: DatabaseEngine, ctx: HandlerContext): Promise<LogicalResponse | null> {
  const name = nameOf(ctx);
  const { fields } = ctx;
  return engine.locks.run(`config:${name}`, async () => {
    const existing = await readConfig(engine.backend.storage, name);
    const pluginName = (fields.plugin_name as string | undefined) ?? existing?.plugin_name;
    if (!pluginName) throw new BadRequestError('missing required field "plugin_name"');
    const descriptor = pluginFor(pluginName);

    // A write changes only the fields it sends, as in Vault.
    const details: ConnectionDetails = { ...(existing?.connection_details ?? {}) };
    for (const key of Object.keys(CONNECTION_FIELDS)) {
      if (fields[key] !== undefined) details[key] = fields[key];
    }
    if (typeof details.username_template === 'string' && details.username_template !== '') UsernameTemplate.parse(details.username_template);

    const config: DatabaseConfig = {
      plugin_name: pluginName,
      allowed_roles: (fields.allowed_roles as string[] | undefined) ?? existing?.allowed_roles ?? [],
      verify_connection: (fields.verify_connection as boolean | undefined) ?? true,
      password_policy: (fields.password_policy as string | undefined) ?? existing?.password_policy ?? '',
      root_rotation_statements:
        fields.root_rotation_statements !== undefined
          ? readStatementList('root_rotation_statements', fields.root_rotation_statements)
          : (existing?.root_rotation_statements ?? []),
      connection_details: details,
    };

    // Opening parses the connection settings, so a malformed URL is rejected even without verifying.
    const plugin = descriptor.open(details);
    if (config.verify_connection) {
      try {
        await plugin.verify();
      } catch (err) {
        await plugin.close();
        throw verificationError(name, err, details);
      }
    }
    await plugin.close();
    await writeConfig(engine.backend.storage, name, config);
    await engine.connections.close(name);

    const warnings = hasLiteralPassword(details)
      ? ['connection_url contains a password; use {{password}} in the URL and the "password" field, so rotate-root can change it']
      : [];
    return warnings.length > 0 ? { warnings } : null;
  });
}

async function deleteConnection(engine: DatabaseEngine, ctx: HandlerContext): Promise<null> {
  const name = nameOf(ctx);
  await engine.locks.run(`config:${name}`, async () => {
    await engine.connections.close(name);
    await engine.backend.storage.delete(storageKeys.config(name));
  });
  return null;
}

/**
 * Changes the root password: a new password from the config's policy is set in the database, then
 * stored, and the pool is reopened with it. Nothing returns the password.
 *
 * NOTE: if storing fails after the database accepted the new password, the stored password is
 * stale and the connection stops working until an operator writes the config again.
 */
async function rotateRoot(engine: DatabaseEngine, name: string): Promise<null> {
  return engine.locks.run(`config:${name}`, async () => {
    const { config, plugin } = await engine.plugin(name);
    const details = config.connection_details;
    const username = typeof details.username === 'string' ? details.username : '';
    if (username === '' || typeof details.password !== 'string' || details.password === '') {
      throw new BadRequestError(`database connection ${JSON.stringify(name)} needs "username" and "password" before its root password can be rotated`);
    }
    if (typeof details.connection_url === 'string' && !/\{\{\s*password\s*\}\}/.test(details.connection_url)) {
      throw new BadRequestError('connection_url must contain {{password}} to rotate the root password; otherwise the new password would not be used');
    }

    const password = await engine.generatePassword(config);
    await plugin.rotateRootPassword({ username, password, statements: config.root_rotation_statements });
    await writeConfig(engine.backend.storage, name, { ...config, connection_details: { ...details, password } });
    await engine.connections.close(name);
    engine.backend.logger.info({ db_name: name }, 'rotated the root password');
    return null;
  });
}

/** Builds the 400 of a failed verification, which the caller fixes (wrong URL, password or host). */
function verificationError(name: string, err: unknown, details: ConnectionDetails): BadRequestError {
  const secrets = [details.password, details.private_key, details.tls_certificate_key].filter((s): s is string => typeof s === 'string');
  const reason = err instanceof Error ? err.message : String(err);
  const prefix = err instanceof DatabaseUnavailableError || err instanceof BadRequestError ? '' : 'error: ';
  return new BadRequestError(`verifying the connection to ${JSON.stringify(name)} failed: ${prefix}${scrubSecrets(reason, secrets)}`);
}

/** Replaces a literal password in a URL, Go DSN or key=value connection string with `*****`. */
export function maskConnectionUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)([^@]*)(@)/i, (match, head: string, secret: string, at: string) => (isTemplate(secret) ? match : `${head}*****${at}`))
    .replace(/^([^:/@]*:)(.*)(@(?:tcp|unix)?\()/i, (match, head: string, secret: string, tail: string) => (isTemplate(secret) ? match : `${head}*****${tail}`))
    .replace(/(^|\s)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)/gi, (match, space: string, key: string, secret: string) => (isTemplate(secret) ? match : `${space}${key}*****`));
}

function isTemplate(text: string): boolean {
  return /^'?\{\{\s*password\s*\}\}'?$/.test(text);
}

function hasLiteralPassword(details: ConnectionDetails): boolean {
  const url = details.connection_url;
  return typeof url === 'string' && maskConnectionUrl(url) !== url;
}

function nameOf(ctx: HandlerContext): string {
  const name = ctx.params.name ?? '';
  checkName('database connection', name);
  return name;
}

function notFound(name: string): BadRequestError {
  return new BadRequestError(`database connection ${JSON.stringify(name)} not found`);
}
