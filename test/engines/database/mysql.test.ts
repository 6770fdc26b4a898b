import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { requireService } from '../../helpers/services.js';
import { api } from '../../helpers/server.js';
import { leaseContext, mysqlAdmin, mysqlAvailable, mysqlLogin, mysqlUserExists, rejection, startWithDatabaseMount, uniqueSuffix } from './helpers.js';

const available = await mysqlAvailable();
const run = requireService('MariaDB/MySQL', available, 'nothing accepts logins as root on 127.0.0.1:3306');

describe('database engine on MariaDB', { skip: !run }, () => {
  const suffix = uniqueSuffix();
  const database = `coffer_test_${suffix}`;
  const admin = `cadm_${suffix}`;
  const adminPassword = `Adm1n-${suffix}`;
  let server: Awaited<ReturnType<typeof startWithDatabaseMount>>;

  const write = (path: string, body: unknown) => api(server.url, 'POST', path, { token: 'root', body });
  const read = (path: string) => api(server.url, 'GET', path, { token: 'root' });

  before(async () => {
    await mysqlAdmin([
      `CREATE DATABASE ${database}`,
      `CREATE TABLE ${database}.items (id int)`,
      `INSERT INTO ${database}.items VALUES (1)`,
      [`CREATE USER ?@'%' IDENTIFIED BY ?`, [admin, adminPassword]],
      [`GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION`, [admin]],
    ]);
    server = await startWithDatabaseMount();
    const config = await write('database/config/maria', {
      plugin_name: 'mysql-database-plugin',
      connection_url: `{{username}}:{{password}}@tcp(127.0.0.1:3306)/${database}`,
      username: admin,
      password: adminPassword,
      allowed_roles: ['reader', 'failing', 'static-app'],
      username_template: `{{ printf "t${suffix}-%s-%s" (.RoleName | truncate 6) (random 8) }}`,
    });
    assert.equal(config.status, 204, JSON.stringify(config.body));
    const role = await write('database/roles/reader', {
      db_name: 'maria',
      creation_statements: `CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON ${database}.* TO '{{name}}'@'%';`,
      default_ttl: 600,
    });
    assert.equal(role.status, 204, JSON.stringify(role.body));
  });

  after(async () => {
    await server?.close();
    const statements: Array<string | [string, unknown[]]> = [`DROP DATABASE IF EXISTS ${database}`, [`DROP USER IF EXISTS ?@'%'`, [admin]]];
    await mysqlAdmin(statements);
  });

  test('config read masks a literal password', async () => {
    const config = await write('database/config/literal', {
      plugin_name: 'mysql-database-plugin',
      connection_url: `${admin}:${adminPassword}@tcp(127.0.0.1:3306)/`,
      allowed_roles: '',
    });
    assert.equal(config.status, 200);
    assert.match(config.body.warnings.join(' '), /contains a password/);
    const response = await read('database/config/literal');
    assert.equal(response.body.data.connection_details.connection_url, `${admin}:*****@tcp(127.0.0.1:3306)/`);
    assert.equal(JSON.stringify(response.body).includes(adminPassword), false);
  });

  test('wrong password is refused with the database reason', async () => {
    const response = await write('database/config/wrong', {
      plugin_name: 'mysql-database-plugin',
      connection_url: '{{username}}:{{password}}@tcp(127.0.0.1:3306)/',
      username: admin,
      password: 'Wrong-Pass-123',
    });
    assert.equal(response.status, 400);
    assert.match(response.body.errors[0], /Access denied/);
    assert.equal(JSON.stringify(response.body).includes('Wrong-Pass-123'), false);
  });

  test('creds log in and revoke drops the user', async () => {
    const creds = await read('database/creds/reader');
    assert.equal(creds.status, 200, JSON.stringify(creds.body));
    const { username, password } = creds.body.data;
    assert.ok(username.startsWith(`t${suffix}-reader-`));
    assert.equal(await mysqlLogin(username, password, database), 1);

    await server.backend().secretTypes!.creds.revoke(leaseContext(server.context(), { username, role: 'reader', db_name: 'maria' }));
    const loginError = await rejection(mysqlLogin(username, password, database));
    assert.match(loginError.message, /Access denied/);
    assert.equal(await mysqlUserExists(username), false);
  });

  test('failed grant returns 400 and removes the user', async () => {
    await write('database/roles/failing', {
      db_name: 'maria',
      creation_statements: [`CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'`, `GRANT SELEKT ON ${database}.* TO '{{name}}'@'%'`],
    });
    const creds = await read('database/creds/failing');
    assert.equal(creds.status, 400);
    assert.match(creds.body.errors[0], /SQL syntax/);
    const connection = await (await import('mysql2/promise')).default.createConnection({ host: '127.0.0.1', user: 'root', password: '' });
    const [rows] = await connection.query('SELECT User FROM mysql.user WHERE User LIKE ?', [`t${suffix}-failin%`]);
    await connection.end();
    assert.deepEqual(rows, []);
  });

  test('username longer than the limit is refused', async () => {
    await write('database/config/maria', { username_template: '{{ random 40 }}' });
    const creds = await read('database/creds/reader');
    assert.equal(creds.status, 400);
    assert.match(creds.body.errors[0], /at most 32/);
    await write('database/config/maria', { username_template: `{{ printf "t${suffix}-%s-%s" (.RoleName | truncate 6) (random 8) }}` });
  });

  test('static role rotation changes the login', async () => {
    const user = `cst_${suffix}`;
    await mysqlAdmin([[`CREATE USER ?@'%' IDENTIFIED BY 'initial-pw'`, [user]]]);
    try {
      const created = await write('database/static-roles/static-app', { db_name: 'maria', username: user, rotation_period: 3600 });
      assert.equal(created.status, 204, JSON.stringify(created.body));
      const creds = await read('database/static-creds/static-app');
      assert.equal(await mysqlLogin(user, creds.body.data.password), 1);
      await assert.rejects(mysqlLogin(user, 'initial-pw'));
    } finally {
      await mysqlAdmin([[`DROP USER IF EXISTS ?@'%'`, [user]]]);
    }
  });
});
