import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import nodeVault from 'node-vault';
import { mysqlLogin, pgAdmin, pgLogin, redisLogin, rejection } from '../engines/database/helpers.js';
import { startDevServer } from '../helpers/server.js';
import { createDatabaseFixtures, databaseServicesAvailable, removeDatabaseFixtures, type DatabaseFixtures } from './database-fixtures.js';

type VaultClient = ReturnType<typeof nodeVault>;
type HttpError = Error & { response?: { statusCode: number; body?: { errors?: string[] } } };

/** Awaits a node-vault call that must fail with `status`; returns the error. */
async function rejectsWith(promise: Promise<unknown>, status: number): Promise<HttpError> {
  const err = (await rejection(promise)) as HttpError;
  assert.equal(err.response?.statusCode, status, `expected status ${status}, got ${err.response?.statusCode}: ${err.message}`);
  return err;
}

/** How the test reaches one database: config, role statements and a login that reads test data. */
interface DatabaseCase {
  name: string;
  config: Record<string, unknown>;
  creationStatements: string[];
  badStatements: string[];
  /** Part of the database's own message for `badStatements`. */
  badMessage: RegExp;
  /** Logs in and returns what it read; rejects when the login fails. */
  login(user: string, password: string): Promise<unknown>;
  expected: unknown;
  /** Part of the login error once the user is gone. */
  goneMessage: RegExp;
  staticUser: string;
  /** Password of the static user before Coffer rotates it. Unset for PostgreSQL, whose trust auth ignores passwords. */
  staticInitialPassword?: string;
}

function databaseCases(f: DatabaseFixtures): DatabaseCase[] {
  return [
    {
      name: 'pg',
      config: {
        plugin_name: 'postgresql-database-plugin',
        connection_url: `postgresql://{{username}}:{{password}}@127.0.0.1:5432/${f.pg.database}`,
        username: f.pg.admin,
        password: f.pg.password,
        allowed_roles: 'pg-*',
        username_template: f.pg.username_template,
      },
      creationStatements: [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`, 'GRANT SELECT ON items TO "{{name}}";'],
      badStatements: [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}';`, 'GRANT SELECT ON items TOO "{{name}}";'],
      badMessage: /syntax error/,
      // The machine's PostgreSQL trusts loopback, so this proves the role exists and may read.
      login: async (user) => {
        await pgAdmin(f.pg.database, [`SET ROLE "${user}"`, 'SELECT count(*) FROM items']);
        return pgLogin(user, 'unused-under-trust-auth', f.pg.database);
      },
      expected: 1,
      goneMessage: /does not exist/,
      staticUser: f.pg.static_user,
    },
    {
      name: 'maria',
      config: {
        plugin_name: 'mysql-database-plugin',
        connection_url: '{{username}}:{{password}}@tcp(127.0.0.1:3306)/',
        username: f.mysql.admin,
        password: f.mysql.password,
        allowed_roles: ['maria-*'],
        username_template: f.mysql.username_template,
      },
      creationStatements: [`CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON ${f.mysql.database}.* TO '{{name}}'@'%';`],
      badStatements: [`CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'`, `GRANT SELEKT ON ${f.mysql.database}.* TO '{{name}}'@'%'`],
      badMessage: /SQL syntax/,
      login: (user, password) => mysqlLogin(user, password, f.mysql.database),
      expected: 1,
      goneMessage: /Access denied/,
      staticUser: f.mysql.static_user,
      staticInitialPassword: f.mysql.static_initial_password,
    },
    {
      name: 'redis',
      config: {
        plugin_name: 'redis-database-plugin',
        host: '127.0.0.1',
        port: 6379,
        username: f.redis.admin,
        password: f.redis.password,
        allowed_roles: 'redis-*',
        username_template: f.redis.username_template,
      },
      creationStatements: [JSON.stringify([`~${f.redis.key_prefix}*`, '+get'])],
      badStatements: ['["+nosuchcommand"]'],
      badMessage: /ACL/,
      login: (user, password) => redisLogin(user, password, f.redis.key),
      expected: 'hello',
      goneMessage: /WRONGPASS/,
      staticUser: f.redis.static_user,
      staticInitialPassword: f.redis.static_initial_password,
    },
  ];
}

const run = await databaseServicesAvailable();

describe('node-vault: database engine', { skip: !run }, () => {
  let fixtures: DatabaseFixtures;
  let server: Awaited<ReturnType<typeof startDevServer>>;
  let vault: VaultClient;

  before(async () => {
    fixtures = await createDatabaseFixtures();
    server = await startDevServer();
    vault = nodeVault({ apiVersion: 'v1', endpoint: server.url, token: 'root' });
    await vault.mount({ mount_point: 'database', type: 'database' });
  });

  after(async () => {
    await server?.close();
    if (fixtures) await removeDatabaseFixtures(fixtures);
  });

  test('configs are written and read back without passwords', async () => {
    for (const db of databaseCases(fixtures)) {
      await vault.write(`database/config/${db.name}`, db.config);
      const read = await vault.read(`database/config/${db.name}`);
      assert.equal(read.data.plugin_name, db.config.plugin_name, db.name);
      assert.equal('password' in read.data.connection_details, false, `${db.name}: password shown`);
      assert.equal(JSON.stringify(read).includes(db.config.password as string), false, `${db.name}: password shown`);
    }
    assert.deepEqual((await vault.list('database/config')).data.keys.sort(), ['maria', 'pg', 'redis']);
  });

  for (const name of ['pg', 'maria', 'redis']) {
    test(`${name}: dynamic creds renew and revoke`, async () => {
      const db = databaseCases(fixtures).find((c) => c.name === name)!;
      const role = `${name}-reader`;
      await vault.write(`database/roles/${role}`, { db_name: name, creation_statements: db.creationStatements, default_ttl: '1h', max_ttl: '2h' });

      const creds = await vault.read(`database/creds/${role}`);
      assert.match(creds.lease_id, new RegExp(`^database/creds/${role}/`));
      assert.equal(creds.lease_duration, 3600);
      assert.equal(creds.renewable, true);
      assert.ok(creds.data.username.startsWith(fixtures.userPrefix), creds.data.username);
      assert.equal(await db.login(creds.data.username, creds.data.password), db.expected);

      const renewed = await vault.write('sys/leases/renew', { lease_id: creds.lease_id, increment: 600 });
      assert.equal(renewed.lease_id, creds.lease_id);
      assert.equal(renewed.lease_duration, 600);
      const capped = await vault.write('sys/leases/renew', { lease_id: creds.lease_id, increment: '100h' });
      assert.ok(capped.lease_duration <= 7200, `renewal past max_ttl: ${capped.lease_duration}`);
      assert.ok(capped.lease_duration > 7000, `renewal fell short of max_ttl: ${capped.lease_duration}`);

      await vault.write('sys/leases/revoke', { lease_id: creds.lease_id });
      const loginError = await rejection(db.login(creds.data.username, creds.data.password));
      assert.match(loginError.message, db.goneMessage);
      await rejectsWith(vault.write('sys/leases/lookup', { lease_id: creds.lease_id }), 400);
    });

    test(`${name}: static creds rotate`, async () => {
      const db = databaseCases(fixtures).find((c) => c.name === name)!;
      const role = `${name}-static`;
      await vault.write(`database/static-roles/${role}`, { db_name: name, username: db.staticUser, rotation_period: '1h' });
      const first = (await vault.read(`database/static-creds/${role}`)).data;
      assert.equal(first.username, db.staticUser);
      assert.ok(first.ttl > 3500, `ttl ${first.ttl}`);
      assert.ok(first.ttl <= 3600, `ttl ${first.ttl}`);
      assert.equal(await db.login(db.staticUser, first.password), db.expected);
      if (db.staticInitialPassword !== undefined) await assert.rejects(db.login(db.staticUser, db.staticInitialPassword));

      await vault.write(`database/rotate-role/${role}`, {});
      const second = (await vault.read(`database/static-creds/${role}`)).data;
      assert.notEqual(second.password, first.password);
      assert.equal(await db.login(db.staticUser, second.password), db.expected);
      if (db.staticInitialPassword !== undefined) await assert.rejects(db.login(db.staticUser, first.password));
    });

    test(`${name}: creation syntax error leaves no lease`, async () => {
      const db = databaseCases(fixtures).find((c) => c.name === name)!;
      const role = `${name}-bad`;
      await vault.write(`database/roles/${role}`, { db_name: name, creation_statements: db.badStatements });
      const err = await rejectsWith(vault.read(`database/creds/${role}`), 400);
      assert.match(err.response?.body?.errors?.[0] ?? '', db.badMessage);
      await rejectsWith(vault.list(`sys/leases/lookup/database/creds/${role}/`), 404);
    });
  }

  test('token revocation revokes its database leases', async () => {
    const db = databaseCases(fixtures).find((c) => c.name === 'redis')!;
    await vault.write('database/roles/redis-app', { db_name: 'redis', creation_statements: db.creationStatements });
    await vault.addPolicy({ name: 'redis-app', rules: 'path "database/creds/redis-app" { capabilities = ["read"] }' });
    // node-vault's tokenCreate switches the client to the new token, so create it with a plain write.
    const token = (await vault.write('auth/token/create', { policies: ['redis-app'] })).auth.client_token;
    const app: VaultClient = nodeVault({ apiVersion: 'v1', endpoint: server.url, token });
    const creds = await app.read('database/creds/redis-app');
    assert.equal(await db.login(creds.data.username, creds.data.password), db.expected);
    await rejectsWith(app.read('database/creds/redis-reader'), 403);

    await vault.tokenRevoke({ token });
    await assert.rejects(db.login(creds.data.username, creds.data.password), db.goneMessage);
  });

  test('rotate-root keeps the engine working', async () => {
    for (const db of databaseCases(fixtures)) {
      await vault.write(`database/rotate-root/${db.name}`, {});
      if (db.name === 'maria') await assert.rejects(mysqlLogin(fixtures.mysql.admin, fixtures.mysql.password), /Access denied/);
      if (db.name === 'redis') await assert.rejects(redisLogin(fixtures.redis.admin, fixtures.redis.password, fixtures.redis.key), /WRONGPASS/);

      const creds = await vault.read(`database/creds/${db.name}-reader`);
      assert.equal(await db.login(creds.data.username, creds.data.password), db.expected, db.name);
      await vault.write('sys/leases/revoke', { lease_id: creds.lease_id });
    }
  });

  test('role outside allowed_roles is rejected', async () => {
    await vault.write('database/roles/outsider', { db_name: 'pg', creation_statements: ['SELECT 1'] });
    const err = await rejectsWith(vault.read('database/creds/outsider'), 400);
    assert.match(err.response?.body?.errors?.[0] ?? '', /allowed_roles/);
  });
});
