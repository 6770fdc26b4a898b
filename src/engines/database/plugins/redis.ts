import { Redis, type RedisOptions } from 'ioredis';
import { BadRequestError } from '../../../errors.js';
import {
  boolDetail,
  databaseError,
  intDetail,
  stringDetail,
  type ConnectionDetails,
  type DatabasePlugin,
  type NewUserRequest,
  type PluginDescriptor,
  type RenewUserRequest,
  type RevokeUserRequest,
  type RotateRootRequest,
  type SetPasswordRequest,
} from '../plugin.js';
import { decodeBase64Statement, parseJsonStringArray } from '../statements.js';

/** ACL rules of a user created by a role without creation statements: read any key. */
const DEFAULT_RULES = ['~*', '+@read'];

/** Milliseconds to wait for a connection or a reply. */
const TIMEOUT_MS = 10_000;

export const redisDescriptor: PluginDescriptor = {
  maxUsernameLength: 0,
  defaultUsernameTemplate:
    '{{ printf "V_%s_%s_%s_%s" (.DisplayName | uppercase | truncate 10) (.RoleName | uppercase | truncate 10) (random 20) (unix_time) }}',
  creationStatementsOptional: true,
  quotesPasswords: false,
  open: (details) => new RedisPlugin(details),
};

/**
 * The Redis plugin: dynamic and static users are Redis 6+ ACL users. Creation statements are a
 * JSON array of ACL rules such as `["~app:*", "+@read"]`. Redis users do not expire, so the lease
 * alone bounds their life, and `ACL DELUSER` also disconnects the user's clients.
 *
 * One connection serves each config entry; Redis pipelines commands on it, so
 * `max_open_connections` has no effect here.
 */
class RedisPlugin implements DatabasePlugin {
  private client: Redis | null = null;
  private readonly options: RedisOptions;

  constructor(details: ConnectionDetails) {
    this.options = clientOptions(details);
  }

  async verify(): Promise<void> {
    await this.run('connecting to Redis', [], (client) => client.ping());
  }

  async newUser(request: NewUserRequest): Promise<void> {
    const rules = aclRules(request.statements);
    await this.run('creating the ACL user', [request.password], async (client) => {
      const existing = await client.call('ACL', 'GETUSER', request.username);
      if (existing !== null) {
        throw new BadRequestError(`Redis user ${JSON.stringify(request.username)} already exists; the username template needs more randomness`);
      }
      // ACL SETUSER applies all rules or none, so a bad rule leaves no user behind.
      await client.call('ACL', 'SETUSER', request.username, 'on', `>${request.password}`, ...rules);
    });
  }

  async renewUser(_request: RenewUserRequest): Promise<void> {
    // Redis ACL users have no expiry to extend.
  }

  async revokeUser(request: RevokeUserRequest): Promise<void> {
    await this.run('deleting the ACL user', [], async (client) => {
      await client.call('ACL', 'DELUSER', request.username);
    });
  }

  async setPassword(request: SetPasswordRequest): Promise<void> {
    await this.run('setting the password', [request.password], async (client) => {
      if ((await client.call('ACL', 'GETUSER', request.username)) === null) {
        throw new BadRequestError(`Redis user ${JSON.stringify(request.username)} does not exist`);
      }
      // `resetpass` removes the old passwords, so only the new one logs in.
      await client.call('ACL', 'SETUSER', request.username, 'resetpass', `>${request.password}`);
    });
  }

  async rotateRootPassword(request: RotateRootRequest): Promise<void> {
    if (!request.username) throw new BadRequestError('rotating the root password needs "username" in the config');
    await this.run('rotating the root password', [request.password], async (client) => {
      await client.call('ACL', 'SETUSER', request.username, 'resetpass', `>${request.password}`);
    });
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (client) client.disconnect();
  }

  /** Connects when there is no live connection, runs `work`, and scrubs errors. */
  private async run(context: string, secrets: string[], work: (client: Redis) => Promise<unknown>): Promise<void> {
    const allSecrets = [this.options.password, ...secrets];
    let client: Redis;
    try {
      client = await this.connect();
    } catch (err) {
      throw databaseError('connecting to Redis failed', err, allSecrets);
    }
    try {
      await work(client);
    } catch (err) {
      throw databaseError(`${context} failed`, err, allSecrets);
    }
  }

  private async connect(): Promise<Redis> {
    if (this.client && this.client.status === 'ready') return this.client;
    this.client?.disconnect();
    const client = new Redis(this.options);
    // ioredis rejects a failed connect with "Connection is closed". The socket's own error, kept
    // here, gives the reason (ECONNREFUSED, WRONGPASS, ...).
    let socketError: unknown;
    client.on('error', (err) => (socketError = err));
    this.client = client;
    try {
      await client.connect();
    } catch (err) {
      client.disconnect();
      this.client = null;
      throw socketError ?? err;
    }
    return client;
  }
}

/** Reads ACL rules from creation statements: a JSON array (possibly base64), or space-separated rules. */
function aclRules(statements: string[]): string[] {
  if (statements.length === 0) return DEFAULT_RULES;
  const rules: string[] = [];
  for (const statement of statements) {
    const text = decodeBase64Statement(statement) ?? statement;
    rules.push(...(parseJsonStringArray(text) ?? text.split(/\s+/).filter((rule) => rule !== '')));
  }
  for (const rule of rules) {
    // A password rule would give the user a second, known password.
    if (/^[<>#!]|^nopass$|^resetpass$/i.test(rule)) {
      throw new BadRequestError(`invalid Redis ACL rule ${JSON.stringify(rule)} in creation_statements: password rules are set by Coffer`);
    }
  }
  return rules;
}

function clientOptions(details: ConnectionDetails): RedisOptions {
  const host = stringDetail(details, 'host');
  if (host === undefined) throw new BadRequestError('missing "host" for redis-database-plugin');
  const port = intDetail(details, 'port', 6379);
  if (port <= 0 || port > 65535) throw new BadRequestError(`invalid "port" ${port}: expected 1 to 65535`);
  const options: RedisOptions = {
    host,
    port,
    username: stringDetail(details, 'username'),
    password: stringDetail(details, 'password'),
    lazyConnect: true,
    // The ready check runs INFO, which a least-privilege admin user may not be allowed.
    enableReadyCheck: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // Do not reconnect in the background: the next operation opens a new connection.
    retryStrategy: () => null,
    connectTimeout: TIMEOUT_MS,
    commandTimeout: TIMEOUT_MS,
  };
  if (boolDetail(details, 'tls')) {
    options.tls = {
      ca: stringDetail(details, 'ca_cert'),
      rejectUnauthorized: !boolDetail(details, 'insecure_tls'),
      servername: host,
    };
  }
  return options;
}
