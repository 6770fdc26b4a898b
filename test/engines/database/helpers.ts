import { randomBytes } from 'node:crypto';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import pino from 'pino';
import { InmemPhysical } from '../../../src/storage/inmem.js';
import type { Backend, BackendContext, LeaseContext } from '../../../src/framework/types.js';
import { api, startDevServer } from '../../helpers/server.js';

export const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' };
export const MYSQL = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };
export const REDIS = { host: '127.0.0.1', port: 6379 };

/** Returns a short random suffix that keeps each test's databases, users and keys apart. */
export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ ...PG, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function mysqlAvailable(): Promise<boolean> {
  try {
    const connection = await mysql.createConnection({ ...MYSQL, connectTimeout: 2000 });
    await connection.end();
    return true;
  } catch {
    return false;
  }
}

export async function redisAvailable(): Promise<boolean> {
  const client = new Redis({ ...REDIS, lazyConnect: true, retryStrategy: () => null, connectTimeout: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.call('ACL', 'WHOAMI');
    return true;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Runs statements as the PostgreSQL superuser on a database. */
export async function pgAdmin(database: string, statements: string[]): Promise<void> {
  const client = new pg.Client({ ...PG, database });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Logs in to PostgreSQL as a user and runs a query; throws the login error. */
export async function pgLogin(user: string, password: string, database: string): Promise<number> {
  const client = new pg.Client({ host: PG.host, port: PG.port, user, password, database, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const result = await client.query('SELECT 1 AS one');
    return result.rows[0].one as number;
  } finally {
    await client.end();
  }
}

export async function mysqlAdmin(statements: Array<string | [string, unknown[]]>): Promise<void> {
  const connection = await mysql.createConnection(MYSQL);
  try {
    for (const statement of statements) {
      if (typeof statement === 'string') await connection.query(statement);
      else await connection.query(statement[0], statement[1]);
    }
  } finally {
    await connection.end();
  }
}

export async function mysqlLogin(user: string, password: string, database?: string): Promise<number> {
  const connection = await mysql.createConnection({ host: MYSQL.host, port: MYSQL.port, user, password, database, connectTimeout: 5000 });
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT 1 AS one');
    return Number(rows[0].one);
  } finally {
    await connection.end();
  }
}

export async function mysqlUserExists(user: string): Promise<boolean> {
  const connection = await mysql.createConnection(MYSQL);
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM mysql.user WHERE User = ?', [user]);
    return Number(rows[0].n) > 0;
  } finally {
    await connection.end();
  }
}

export async function redisAdmin(...command: string[]): Promise<unknown> {
  const client = new Redis({ ...REDIS, lazyConnect: true, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(command[0], ...command.slice(1));
  } finally {
    client.disconnect();
  }
}

/** Logs in to Redis as an ACL user and reads a key; throws the login error. */
export async function redisLogin(username: string, password: string, key: string): Promise<string | null> {
  const client = new Redis({ ...REDIS, username, password, lazyConnect: true, enableReadyCheck: false, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  let socketError: unknown;
  client.on('error', (err) => (socketError = err));
  try {
    await client.connect().catch((err) => {
      throw socketError ?? err;
    });
    return await client.get(key);
  } finally {
    client.disconnect();
  }
}

/** Starts a dev server with the database engine mounted at `database/`. */
export async function startWithDatabaseMount(): Promise<{ url: string; close: () => Promise<void>; backend: () => Backend; context: () => BackendContext }> {
  const server = await startDevServer();
  const mounted = await api(server.url, 'POST', 'sys/mounts/database', { token: 'root', body: { type: 'database' } });
  if (mounted.status !== 204) throw new Error(`mounting the database engine failed: ${mounted.status} ${JSON.stringify(mounted.body)}`);
  const live = () => {
    const mount = server.core.mounts.get('database/');
    if (!mount) throw new Error('database/ is not mounted');
    return mount;
  };
  return {
    url: server.url,
    close: () => server.close(),
    backend: () => live().backend,
    context: () => live().router.context,
  };
}

/** Builds a lease context for calling a backend's revoke or renew callback directly. */
export function leaseContext(backend: BackendContext, internalData: Record<string, unknown>, increment = 0): LeaseContext {
  const now = Date.now();
  return { leaseId: `database/creds/test/${uniqueSuffix()}`, internalData, increment, issueTime: now, expireTime: now + 3600_000, backend };
}

/** Builds a backend context over in-memory storage, for driving the engine without a server. */
export function memoryContext(overrides: Partial<BackendContext> = {}): BackendContext {
  return {
    storage: new InmemPhysical(),
    logger: pino({ level: 'silent' }),
    system: { defaultLeaseTtl: () => 3600, maxLeaseTtl: () => 86400 },
    mountPoint: 'database/',
    mountType: 'database',
    options: {},
    ...overrides,
  };
}

/** Asserts nothing; returns the error a promise rejects with, or throws when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the promise to reject');
}
