import pg from 'pg';
import { BadRequestError } from '../../../errors.js';
import {
  databaseError,
  intDetail,
  stringDetail,
  templateConnectionString,
  type ConnectionDetails,
  type DatabasePlugin,
  type NewUserRequest,
  type PluginDescriptor,
  type RenewUserRequest,
  type RevokeUserRequest,
  type RotateRootRequest,
  type SetPasswordRequest,
} from '../plugin.js';
import { expandStatements, formatExpiration, renderStatement, type StatementValues } from '../statements.js';

/** PostgreSQL's identifier limit (NAMEDATALEN - 1 in a default build). */
const MAX_USERNAME_LENGTH = 63;

/** Seconds to wait for a new connection before giving up. */
const CONNECT_TIMEOUT_SECONDS = 10;

export const postgresqlDescriptor: PluginDescriptor = {
  maxUsernameLength: MAX_USERNAME_LENGTH,
  defaultUsernameTemplate:
    '{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) (random 20) (unix_time) | truncate 63 }}',
  creationStatementsOptional: false,
  quotesPasswords: true,
  open: (details) => new PostgresqlPlugin(details),
};

/** The PostgreSQL plugin: a `pg` pool per config entry; statements run in one transaction. */
class PostgresqlPlugin implements DatabasePlugin {
  private readonly pool: pg.Pool;
  private readonly rootPassword: string | undefined;

  constructor(details: ConnectionDetails) {
    const config = poolConfig(details);
    this.rootPassword = typeof config.password === 'string' ? config.password : undefined;
    this.pool = new pg.Pool(config);
    // An idle client that the server closes emits here; without a listener the process would exit.
    this.pool.on('error', () => undefined);
  }

  async verify(): Promise<void> {
    await this.run('connecting to PostgreSQL', [], async (client) => {
      await client.query('SELECT 1');
    });
  }

  async newUser(request: NewUserRequest): Promise<void> {
    const values: StatementValues = {
      name: request.username,
      username: request.username,
      password: request.password,
      expiration: formatExpiration(request.expiration),
    };
    const statements = expandStatements(request.statements);
    if (statements.length === 0) throw new BadRequestError('the role has no creation_statements');
    try {
      await this.inTransaction('running creation statements', [request.password], statements, values);
    } catch (err) {
      // The transaction is rolled back already; rollback statements cover what ran outside it.
      if (request.rollbackStatements.length > 0) {
        await this.inTransaction('running rollback statements', [request.password], expandStatements(request.rollbackStatements), values).catch(() => undefined);
      }
      throw err;
    }
  }

  async renewUser(request: RenewUserRequest): Promise<void> {
    const values: StatementValues = { name: request.username, username: request.username, expiration: formatExpiration(request.expiration) };
    const statements = expandStatements(request.statements);
    if (statements.length > 0) {
      await this.inTransaction('running renew statements', [], statements, values);
      return;
    }
    await this.run('renewing the user', [], async (client) => {
      if (!(await roleExists(client, request.username))) return;
      const role = pg.escapeIdentifier(request.username);
      await client.query(`ALTER ROLE ${role} VALID UNTIL ${pg.escapeLiteral(values.expiration!)}`);
    });
  }

  async revokeUser(request: RevokeUserRequest): Promise<void> {
    const statements = expandStatements(request.statements);
    if (statements.length > 0) {
      await this.inTransaction('running revocation statements', [], statements, { name: request.username, username: request.username });
      return;
    }
    await this.run('revoking the user', [], (client) => dropRole(client, request.username));
  }

  async setPassword(request: SetPasswordRequest): Promise<void> {
    const statements = expandStatements(request.statements);
    const values: StatementValues = { name: request.username, username: request.username, password: request.password };
    if (statements.length > 0) {
      await this.inTransaction('running rotation statements', [request.password], statements, values);
      return;
    }
    await this.run('setting the password', [request.password], async (client) => {
      if (!(await roleExists(client, request.username))) {
        throw new BadRequestError(`PostgreSQL role ${JSON.stringify(request.username)} does not exist`);
      }
      await client.query(`ALTER ROLE ${pg.escapeIdentifier(request.username)} WITH PASSWORD ${pg.escapeLiteral(request.password)}`);
    });
  }

  async rotateRootPassword(request: RotateRootRequest): Promise<void> {
    const statements = expandStatements(request.statements);
    if (statements.length === 0) statements.push(`ALTER ROLE CURRENT_USER WITH PASSWORD ${pg.escapeLiteral(request.password)}`);
    await this.inTransaction('rotating the root password', [request.password], statements, {
      name: request.username,
      username: request.username,
      password: request.password,
    });
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }

  /** Runs rendered statements in one transaction on one pooled connection. */
  private async inTransaction(context: string, secrets: string[], statements: string[], values: StatementValues): Promise<void> {
    await this.run(context, secrets, async (client) => {
      await client.query('BEGIN');
      try {
        for (const statement of statements) await client.query(renderStatement(statement, values));
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  /** Checks out a connection, runs `work`, and turns driver errors into scrubbed Coffer errors. */
  private async run(context: string, secrets: string[], work: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw databaseError('connecting to PostgreSQL failed', err, [this.rootPassword, ...secrets]);
    }
    try {
      await work(client);
    } catch (err) {
      throw databaseError(`${context} failed`, err, [this.rootPassword, ...secrets]);
    } finally {
      client.release();
    }
  }
}

async function roleExists(client: pg.PoolClient, name: string): Promise<boolean> {
  const result = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
  return (result.rowCount ?? 0) > 0;
}

/**
 * Removes a role safely: ends its sessions, gives what it owns in this database to the connecting
 * user, drops its remaining privileges, then drops it.
 *
 * Ending sessions, REASSIGN OWNED and DROP OWNED need the privileges of the role. A superuser has
 * them. A connecting user with only CREATEROLE does not, so it first grants itself membership in
 * the role, as PostgreSQL lets a CREATEROLE user do for roles it may administer. The membership
 * goes away with the role.
 *
 * NOTE: REASSIGN OWNED and DROP OWNED act on the current database only. A role that owns objects
 * or has privileges in another database cannot be dropped, so the revocation fails and is
 * retried; give such roles `revocation_statements`.
 */
async function dropRole(client: pg.PoolClient, name: string): Promise<void> {
  if (!(await roleExists(client, name))) return;
  const role = pg.escapeIdentifier(name);
  await client.query('BEGIN');
  try {
    const privileges = await client.query<{ held: boolean }>(`SELECT pg_has_role(CURRENT_USER, $1, 'USAGE') AS held`, [name]);
    if (!privileges.rows[0].held) await client.query(`GRANT ${role} TO CURRENT_USER`);
    await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()', [name]);
    await client.query(`REASSIGN OWNED BY ${role} TO CURRENT_USER`);
    await client.query(`DROP OWNED BY ${role}`);
    await client.query(`DROP ROLE IF EXISTS ${role}`);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Builds the `pg` pool settings from the config's connection fields. */
function poolConfig(details: ConnectionDetails): pg.PoolConfig {
  const template = stringDetail(details, 'connection_url');
  if (template === undefined) throw new BadRequestError('missing "connection_url" for postgresql-database-plugin');
  const username = stringDetail(details, 'username');
  const password = stringDetail(details, 'password');
  const { text, restore } = templateConnectionString(template, username, password);
  const parsed = /^postgres(ql)?:\/\//i.test(text) ? parseUrl(text) : parseKeywordValue(text);

  const maxOpen = intDetail(details, 'max_open_connections', 4);
  const maxIdle = intDetail(details, 'max_idle_connections', 0);
  const config: pg.PoolConfig = {
    host: restore(parsed.host) ?? '127.0.0.1',
    port: parsed.port === undefined ? 5432 : Number(parsed.port),
    user: restore(parsed.user) ?? username,
    password: restore(parsed.password) ?? password,
    database: restore(parsed.dbname),
    max: maxOpen > 0 ? maxOpen : 4,
    // A negative max_idle_connections disables idle connections: close them as soon as they are idle.
    idleTimeoutMillis: maxIdle < 0 ? 1 : 10_000,
    maxLifetimeSeconds: intDetail(details, 'max_connection_lifetime', 0),
    connectionTimeoutMillis: Number(parsed.connect_timeout ?? CONNECT_TIMEOUT_SECONDS) * 1000,
    application_name: parsed.application_name ?? 'coffer',
    ssl: sslOptions(parsed.sslmode, details),
  };
  if (!Number.isInteger(config.port) || config.port! <= 0) throw new BadRequestError('invalid port in "connection_url"');
  return config;
}

/** Maps libpq's `sslmode` and the config's TLS fields to `pg` TLS options. */
function sslOptions(mode: string | undefined, details: ConnectionDetails): pg.PoolConfig['ssl'] {
  const ca = stringDetail(details, 'tls_ca');
  const cert = stringDetail(details, 'tls_certificate');
  const key = stringDetail(details, 'private_key');
  // NOTE: libpq's default `prefer` (and `allow`) try TLS and fall back to plain text. `pg` cannot
  // fall back, so these modes connect without TLS, as `disable` does.
  switch (mode ?? 'prefer') {
    case 'disable':
    case 'allow':
    case 'prefer':
      return ca || cert ? { ca, cert, key, rejectUnauthorized: true } : false;
    case 'require':
      return { ca, cert, key, rejectUnauthorized: false };
    case 'verify-ca':
      return { ca, cert, key, rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { ca, cert, key, rejectUnauthorized: true };
    default:
      throw new BadRequestError(`invalid sslmode ${JSON.stringify(mode)} in "connection_url": use disable, require, verify-ca or verify-full`);
  }
}

type ConnectionFields = Record<string, string | undefined>;

function parseUrl(text: string): ConnectionFields {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new BadRequestError('invalid "connection_url": expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE');
  }
  const fields: ConnectionFields = {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1') || undefined,
    port: url.port || undefined,
    user: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    dbname: url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : undefined,
  };
  for (const [key, value] of url.searchParams) fields[key === 'user' ? 'user' : key] = value;
  return fields;
}

/** Parses libpq's `key=value` form, where values may be single-quoted with backslash escapes. */
function parseKeywordValue(text: string): ConnectionFields {
  const fields: ConnectionFields = {};
  const pattern = /\s*([A-Za-z_]+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S*))/gy;
  let match: RegExpExecArray | null;
  let consumed = 0;
  while ((match = pattern.exec(text)) !== null) {
    fields[match[1]] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3];
    consumed = pattern.lastIndex;
  }
  if (text.slice(consumed).trim() !== '' || Object.keys(fields).length === 0) {
    throw new BadRequestError('invalid "connection_url": expected a postgresql:// URL or "host=... port=... user=... dbname=..."');
  }
  return fields;
}
