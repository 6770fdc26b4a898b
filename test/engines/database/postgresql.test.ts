import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { requireService } from '../../helpers/services.js';
import { api } from '../../helpers/server.js';
import { leaseContext, pgAdmin, pgLogin, postgresAvailable, rejection, startWithDatabaseMount, uniqueSuffix } from './helpers.js';

const available = await postgresAvailable();
const run = requireService('PostgreSQL', available, 'nothing accepts logins as postgres on 127.0.0.1:5432');

describe('database engine on PostgreSQL', { skip: !run }, () => {
  const suffix = uniqueSuffix();
  const database = `coffer_test_${suffix}`;
  const admin = `coffer_admin_${suffix}`;
  const adminPassword = `Adm1n-${suffix}`;
  let server: Awaited<ReturnType<typeof startWithDatabaseMount>>;

  const write = (path: string, body: unknown) => api(server.url, 'POST', path, { token: 'root', body });
  const read = (path: string) => api(server.url, 'GET', path, { token: 'root' });

  before(async () => {
    await pgAdmin('postgres', [`CREATE DATABASE ${database}`, `CREATE ROLE ${admin} LOGIN SUPERUSER PASSWORD '${adminPassword}'`]);
    await pgAdmin(database, ['CREATE TABLE items (id int)', 'INSERT INTO items VALUES (1), (2)']);
    server = await startWithDatabaseMount();
    const config = await write('database/config/pg', {
      plugin_name: 'postgresql-database-plugin',
      connection_url: `postgresql://{{username}}:{{password}}@127.0.0.1:5432/${database}`,
      username: admin,
      password: adminPassword,
      allowed_roles: 'reader,failing,static-*',
    });
    assert.equal(config.status, 204, JSON.stringify(config.body));
    const role = await write('database/roles/reader', {
      db_name: 'pg',
      creation_statements: [
        `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
        'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";',
      ],
      default_ttl: '1h',
      max_ttl: '2h',
    });
    assert.equal(role.status, 204, JSON.stringify(role.body));
  });

  after(async () => {
    await server?.close();
    await pgAdmin('postgres', [`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`]);
    // Roles created by failed tests are dropped with the test's prefix.
    await pgAdmin('postgres', [
      `DO $$ DECLARE r record; BEGIN FOR r IN SELECT rolname FROM pg_roles WHERE rolname LIKE 'v-%' AND rolname LIKE '%${suffix}%' OR rolname LIKE 'coffer_%_${suffix}' LOOP EXECUTE format('DROP ROLE %I', r.rolname); END LOOP; END $$`,
    ]);
  });

  test('config read masks the password', async () => {
    const response = await read('database/config/pg');
    assert.equal(response.status, 200);
    const data = response.body.data;
    assert.equal(data.plugin_name, 'postgresql-database-plugin');
    assert.deepEqual(data.allowed_roles, ['reader', 'failing', 'static-*']);
    assert.equal(data.connection_details.username, admin);
    assert.equal('password' in data.connection_details, false);
    assert.equal(JSON.stringify(response.body).includes(adminPassword), false);
  });

  test('creds log in, renew and revoke', async () => {
    const creds = await read('database/creds/reader');
    assert.equal(creds.status, 200, JSON.stringify(creds.body));
    const { username, password } = creds.body.data;
    assert.match(username, /^v-root-reader-[A-Za-z0-9]{20}-\d+$/);
    assert.equal(password.length, 20);
    assert.equal(await pgLogin(username, password, database), 1);

    // The creation statements granted SELECT on the existing table.
    await pgAdmin(database, [`SET ROLE "${username}"`, 'SELECT count(*) FROM items']);

    const backend = server.backend();
    const internalData = { username, role: 'reader', db_name: 'pg', max_ttl: 7200, revocation_statements: [], renew_statements: [] };
    const renewed = await backend.secretTypes!.creds.renew!(leaseContext(server.context(), internalData, 600));
    assert.equal(renewed.ttl, 600);

    await backend.secretTypes!.creds.revoke(leaseContext(server.context(), internalData));
    const loginError = await rejection(pgLogin(username, password, database));
    assert.match(loginError.message, /does not exist/);
    // Revoking again is a no-op, so a retried revocation succeeds.
    await backend.secretTypes!.creds.revoke(leaseContext(server.context(), internalData));
  });

  test('revocation ends sessions and drops owned objects', async () => {
    const creds = await read('database/creds/reader');
    const { username, password } = creds.body.data;
    await pgAdmin(database, [`GRANT CREATE ON SCHEMA public TO "${username}"`]);

    const pg = (await import('pg')).default;
    const session = new pg.Client({ host: '127.0.0.1', port: 5432, user: username, password, database });
    await session.connect();
    session.on('error', () => undefined);
    await session.query('CREATE TABLE owned_by_user (id int)');

    await server.backend().secretTypes!.creds.revoke(leaseContext(server.context(), { username, role: 'reader', db_name: 'pg' }));
    await assert.rejects(session.query('SELECT 1'));
    await session.end().catch(() => undefined);
    // The table was handed to the connecting admin rather than lost.
    await pgAdmin(database, ['SELECT count(*) FROM owned_by_user']);
  });

  test('syntax error returns 400 and leaves no user', async () => {
    const role = await write('database/roles/failing', {
      db_name: 'pg',
      creation_statements: [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}';`, 'GRANT SELECT ON TABLE items TOO "{{name}}";'],
    });
    assert.equal(role.status, 204);
    const creds = await read('database/creds/failing');
    assert.equal(creds.status, 400);
    assert.match(creds.body.errors[0], /syntax error/);
    const client = new (await import('pg')).default.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database });
    await client.connect();
    const leftover = await client.query(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'v-root-failing-%'`);
    await client.end();
    assert.equal(leftover.rowCount, 0);
  });

  test('missing or disallowed db_name gives 400', async () => {
    await write('database/roles/orphan', { db_name: 'nope', creation_statements: 'SELECT 1' });
    const missing = await read('database/creds/orphan');
    assert.equal(missing.status, 400);
    assert.match(missing.body.errors[0], /database connection "nope" not found/);

    await write('database/roles/outsider', { db_name: 'pg', creation_statements: 'SELECT 1' });
    const disallowed = await read('database/creds/outsider');
    assert.equal(disallowed.status, 400);
    assert.match(disallowed.body.errors[0], /not in the allowed_roles/);

    const noDbName = await write('database/roles/nodb', { creation_statements: 'SELECT 1' });
    assert.equal(noDbName.status, 400);
  });

  test('static role rotates and the new password logs in', async () => {
    const user = `coffer_static_${suffix}`;
    await pgAdmin(database, [`CREATE ROLE ${user} LOGIN PASSWORD 'initial'`]);
    const created = await write('database/static-roles/static-app', { db_name: 'pg', username: user, rotation_period: '1h' });
    assert.equal(created.status, 204, JSON.stringify(created.body));

    const first = await read('database/static-creds/static-app');
    assert.equal(first.status, 200);
    assert.equal(first.body.data.username, user);
    assert.equal(first.body.data.rotation_period, 3600);
    assert.ok(first.body.data.ttl > 3500);
    assert.ok(first.body.data.ttl <= 3600);
    assert.equal(await pgLogin(user, first.body.data.password, database), 1);

    assert.equal((await write('database/rotate-role/static-app', {})).status, 204);
    const second = await read('database/static-creds/static-app');
    assert.notEqual(second.body.data.password, first.body.data.password);

    const missingUser = await write('database/static-roles/static-ghost', { db_name: 'pg', username: `ghost_${suffix}`, rotation_period: '1h' });
    assert.equal(missingUser.status, 400);
    assert.match(missingUser.body.errors[0], /does not exist/);
    assert.equal((await read('database/static-roles/static-ghost')).status, 404);
  });

  test('bad connection is rejected at write time', async () => {
    const response = await write('database/config/broken', {
      plugin_name: 'postgresql-database-plugin',
      connection_url: 'postgresql://{{username}}:{{password}}@127.0.0.1:1/postgres',
      username: admin,
      password: 'S3cret-value-xyz',
    });
    assert.equal(response.status, 400);
    assert.match(response.body.errors[0], /ECONNREFUSED/);
    assert.equal(JSON.stringify(response.body).includes('S3cret-value-xyz'), false);
    assert.equal((await read('database/config/broken')).status, 404);
  });

  test('rotate-root changes the admin password', async () => {
    const rotatedAdmin = `coffer_rot_${suffix}`;
    await pgAdmin('postgres', [`CREATE ROLE ${rotatedAdmin} LOGIN CREATEROLE PASSWORD 'before'`]);
    const config = await write('database/config/pg-rotate', {
      plugin_name: 'postgresql-database-plugin',
      connection_url: `postgresql://{{username}}:{{password}}@127.0.0.1:5432/${database}`,
      username: rotatedAdmin,
      password: 'before',
      allowed_roles: '*',
    });
    assert.equal(config.status, 204);
    const client = new (await import('pg')).default.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database });
    await client.connect();
    const hashBefore = await client.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [rotatedAdmin]);
    assert.equal((await write('database/rotate-root/pg-rotate', {})).status, 204);
    const hashAfter = await client.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [rotatedAdmin]);
    await client.end();
    assert.notEqual(hashAfter.rows[0].rolpassword, hashBefore.rows[0].rolpassword);
    const readBack = await read('database/config/pg-rotate');
    assert.equal('password' in readBack.body.data.connection_details, false);
    // The engine still connects, with a password that only it stores.
    assert.equal((await write('database/reset/pg-rotate', {})).status, 204);
    const verify = await write('database/config/pg-rotate', { verify_connection: true });
    assert.equal(verify.status, 204);
  });
});
