import mysql from 'mysql2/promise';
import { BadRequestError } from '../../../errors.js';
import {
  boolDetail,
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

/** Milliseconds to wait for a new connection. */
const CONNECT_TIMEOUT_MS = 10_000;

/** MySQL 5.7+ and MariaDB: usernames up to 32 characters, as Vault's mysql-database-plugin allows. */
export const mysqlDescriptor: PluginDescriptor = {
  maxUsernameLength: 32,
  defaultUsernameTemplate:
    '{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 10) (.RoleName | truncate 10) (random 20) (unix_time) | truncate 32 }}',
  creationStatementsOptional: false,
  quotesPasswords: true,
  open: (details) => new MysqlPlugin(details),
};

/** MySQL before 5.7, Aurora and RDS legacy versions: usernames up to 16 characters. */
export const mysqlLegacyDescriptor: PluginDescriptor = {
  ...mysqlDescriptor,
  maxUsernameLength: 16,
  defaultUsernameTemplate: '{{ printf "v-%s-%s" (.RoleName | truncate 4) (random 20) | truncate 16 }}',
};

/**
 * The MySQL and MariaDB plugin: a `mysql2` pool per config entry. Statements run on one connection
 * inside a transaction, but MySQL commits DDL such as CREATE USER at once, so a failed creation
 * is cleaned up with the rollback statements or by dropping the new user.
 */
class MysqlPlugin implements DatabasePlugin {
  private readonly pool: mysql.Pool;
  private readonly rootPassword: string | undefined;

  constructor(details: ConnectionDetails) {
    const options = poolOptions(details);
    this.rootPassword = options.password;
    this.pool = mysql.createPool(options);
  }

  async verify(): Promise<void> {
    await this.run('connecting to MySQL', [], async (connection) => {
      await connection.query('SELECT 1');
    });
  }

  async newUser(request: NewUserRequest): Promise<void> {
    const statements = expandStatements(request.statements);
    if (statements.length === 0) throw new BadRequestError('the role has no creation_statements');
    const values: StatementValues = {
      name: request.username,
      username: request.username,
      password: request.password,
      expiration: formatExpiration(request.expiration),
    };
    await this.run('running creation statements', [request.password], async (connection) => {
      // The clean-up below drops every user of this name, so never let it touch one that existed.
      if ((await userHosts(connection, request.username)).length > 0) {
        throw new BadRequestError(`MySQL user ${JSON.stringify(request.username)} already exists; the username template needs more randomness`);
      }
      try {
        await runInTransaction(connection, statements, values);
      } catch (err) {
        await this.cleanUpFailedUser(connection, request, values);
        throw err;
      }
    });
  }

  async renewUser(request: RenewUserRequest): Promise<void> {
    // MySQL users do not expire, so renewal only runs the role's renew statements, if any.
    const statements = expandStatements(request.statements);
    if (statements.length === 0) return;
    const values: StatementValues = { name: request.username, username: request.username, expiration: formatExpiration(request.expiration) };
    await this.run('running renew statements', [], (connection) => runInTransaction(connection, statements, values));
  }

  async revokeUser(request: RevokeUserRequest): Promise<void> {
    const statements = expandStatements(request.statements);
    if (statements.length > 0) {
      const values: StatementValues = { name: request.username, username: request.username };
      await this.run('running revocation statements', [], (connection) => runInTransaction(connection, statements, values));
      return;
    }
    await this.run('revoking the user', [], (connection) => dropUser(connection, request.username));
  }

  async setPassword(request: SetPasswordRequest): Promise<void> {
    const statements = expandStatements(request.statements);
    const values: StatementValues = { name: request.username, username: request.username, password: request.password };
    await this.run('setting the password', [request.password], async (connection) => {
      if (statements.length > 0) {
        await runInTransaction(connection, statements, values);
        return;
      }
      const hosts = await userHosts(connection, request.username);
      if (hosts.length === 0) throw new BadRequestError(`MySQL user ${JSON.stringify(request.username)} does not exist`);
      for (const host of hosts) await connection.query('ALTER USER ?@? IDENTIFIED BY ?', [request.username, host, request.password]);
    });
  }

  async rotateRootPassword(request: RotateRootRequest): Promise<void> {
    const statements = expandStatements(request.statements);
    const values: StatementValues = { name: request.username, username: request.username, password: request.password };
    await this.run('rotating the root password', [request.password], async (connection) => {
      if (statements.length > 0) {
        await runInTransaction(connection, statements, values);
        return;
      }
      // Name the account explicitly: MariaDB 10.11 accepts `ALTER USER CURRENT_USER() IDENTIFIED
      // BY ...` without error or warning but leaves the password unchanged.
      const { user, host } = await currentAccount(connection);
      await connection.query('ALTER USER ?@? IDENTIFIED BY ?', [user, host, request.password]);
    });
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }

  private async cleanUpFailedUser(connection: mysql.PoolConnection, request: NewUserRequest, values: StatementValues): Promise<void> {
    try {
      const rollback = expandStatements(request.rollbackStatements);
      if (rollback.length > 0) await runInTransaction(connection, rollback, values);
      else await dropUser(connection, request.username);
    } catch {
      // The creation error is the one the caller needs; a user left behind shows in the database.
    }
  }

  private async run(context: string, secrets: string[], work: (connection: mysql.PoolConnection) => Promise<void>): Promise<void> {
    let connection: mysql.PoolConnection;
    try {
      connection = await this.pool.getConnection();
    } catch (err) {
      throw databaseError('connecting to MySQL failed', err, [this.rootPassword, ...secrets]);
    }
    try {
      await work(connection);
    } catch (err) {
      throw databaseError(`${context} failed`, err, [this.rootPassword, ...secrets]);
    } finally {
      connection.release();
    }
  }
}

async function runInTransaction(connection: mysql.PoolConnection, statements: string[], values: StatementValues): Promise<void> {
  await connection.query('START TRANSACTION');
  try {
    for (const statement of statements) await connection.query(renderStatement(statement, values));
    await connection.query('COMMIT');
  } catch (err) {
    await connection.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Returns the account the connection authenticated as, split into user and host. */
async function currentAccount(connection: mysql.PoolConnection): Promise<{ user: string; host: string }> {
  const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT CURRENT_USER() AS account');
  const account = String(rows[0].account);
  // A host part never contains "@", while a user name may, so split at the last one.
  const at = account.lastIndexOf('@');
  return { user: account.slice(0, at), host: account.slice(at + 1) };
}

async function userHosts(connection: mysql.PoolConnection, username: string): Promise<string[]> {
  const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT Host FROM mysql.user WHERE User = ?', [username]);
  return rows.map((row) => String(row.Host));
}

/** Ends the user's sessions and drops it from every host it was created for. */
async function dropUser(connection: mysql.PoolConnection, username: string): Promise<void> {
  const [sessions] = await connection.query<mysql.RowDataPacket[]>('SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?', [username]);
  for (const session of sessions) {
    // A session that ended on its own in the meantime is fine.
    await connection.query('KILL ?', [Number(session.ID)]).catch(() => undefined);
  }
  for (const host of await userHosts(connection, username)) await connection.query('DROP USER ?@?', [username, host]);
}

/** Builds `mysql2` pool options from a Go-style DSN (`user:pass@tcp(host:port)/db`) or a mysql:// URL. */
function poolOptions(details: ConnectionDetails): mysql.PoolOptions {
  const template = stringDetail(details, 'connection_url');
  if (template === undefined) throw new BadRequestError('missing "connection_url" for mysql-database-plugin');
  const username = stringDetail(details, 'username');
  const password = stringDetail(details, 'password');
  const { text, restore } = templateConnectionString(template, username, password);
  const dsn = text.startsWith('mysql://') ? parseUrl(text) : parseGoDsn(text);

  const maxOpen = intDetail(details, 'max_open_connections', 4);
  const maxIdle = intDetail(details, 'max_idle_connections', 0);
  const options: mysql.PoolOptions = {
    user: restore(dsn.user || undefined) ?? username,
    password: restore(dsn.password) ?? password,
    database: dsn.database || undefined,
    connectionLimit: maxOpen > 0 ? maxOpen : 4,
    // NOTE: mysql2 pools have no maximum connection age, so max_connection_lifetime is stored but
    // not applied to MySQL connections.
    maxIdle: maxIdle === 0 ? undefined : Math.max(maxIdle, 0),
    idleTimeout: 10_000,
    connectTimeout: CONNECT_TIMEOUT_MS,
    ssl: tlsOptions(dsn.params.tls, details),
  };
  if (dsn.socketPath) {
    options.socketPath = dsn.socketPath;
  } else {
    options.host = dsn.host || '127.0.0.1';
    options.port = dsn.port ? Number(dsn.port) : 3306;
    if (!Number.isInteger(options.port) || options.port <= 0) throw new BadRequestError('invalid port in "connection_url"');
  }
  return options;
}

interface ParsedDsn {
  user?: string;
  password?: string;
  host?: string;
  port?: string;
  socketPath?: string;
  database?: string;
  params: Record<string, string>;
}

function parseGoDsn(text: string): ParsedDsn {
  const slash = text.lastIndexOf('/');
  if (slash === -1) throw new BadRequestError('invalid "connection_url": expected USER:PASSWORD@tcp(HOST:PORT)/DATABASE');
  const [database, query = ''] = text.slice(slash + 1).split('?', 2);
  const head = text.slice(0, slash);
  const at = head.lastIndexOf('@');
  const userInfo = at === -1 ? '' : head.slice(0, at);
  const address = at === -1 ? head : head.slice(at + 1);
  const colon = userInfo.indexOf(':');
  const parsed: ParsedDsn = {
    user: colon === -1 ? userInfo : userInfo.slice(0, colon),
    password: colon === -1 ? undefined : userInfo.slice(colon + 1),
    database,
    params: Object.fromEntries(new URLSearchParams(query)),
  };
  const network = /^(\w+)?(?:\((.*)\))?$/.exec(address);
  if (network === null) throw new BadRequestError('invalid "connection_url": the address must look like tcp(HOST:PORT) or unix(/path/to/socket)');
  const [, protocol = 'tcp', target = ''] = network;
  if (protocol === 'unix') {
    parsed.socketPath = target;
  } else if (protocol === 'tcp') {
    const hostPort = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(target);
    parsed.host = hostPort?.[1]?.replace(/^\[(.*)\]$/, '$1');
    parsed.port = hostPort?.[2];
  } else {
    throw new BadRequestError(`invalid "connection_url": unsupported network ${JSON.stringify(protocol)}; use tcp or unix`);
  }
  return parsed;
}

function parseUrl(text: string): ParsedDsn {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new BadRequestError('invalid "connection_url": expected mysql://USER:PASSWORD@HOST:PORT/DATABASE');
  }
  return {
    user: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port || undefined,
    database: decodeURIComponent(url.pathname.slice(1)),
    params: Object.fromEntries(url.searchParams),
  };
}

/** Maps the DSN's `tls` parameter and the config's TLS fields to `mysql2` options. */
function tlsOptions(tlsParam: string | undefined, details: ConnectionDetails): mysql.SslOptions | undefined {
  const ca = stringDetail(details, 'tls_ca');
  const certificateKey = stringDetail(details, 'tls_certificate_key');
  const skipVerify = boolDetail(details, 'tls_skip_verify') || tlsParam === 'skip-verify';
  if (!ca && !certificateKey && (tlsParam === undefined || tlsParam === 'false')) return undefined;

  const pemBlocks = certificateKey?.match(/-----BEGIN [^-]+-----[\s\S]*?-----END [^-]+-----/g) ?? [];
  const key = pemBlocks.filter((block) => /PRIVATE KEY/.test(block)).join('\n') || undefined;
  const cert = pemBlocks.filter((block) => /CERTIFICATE/.test(block)).join('\n') || undefined;
  const serverName = stringDetail(details, 'tls_server_name');
  return {
    ca,
    cert,
    key,
    rejectUnauthorized: !skipVerify,
    ...(serverName ? { servername: serverName } : {}),
  } as mysql.SslOptions;
}
