import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { requireService } from '../../helpers/services.js';
import { api, freePort } from '../../helpers/server.js';
import { leaseContext, redisAdmin, redisAvailable, redisLogin, rejection, startWithDatabaseMount, uniqueSuffix } from './helpers.js';

const available = await redisAvailable();
const run = requireService('Redis', available, 'no Redis with ACL support answers on 127.0.0.1:6379');

describe('database engine on Redis', { skip: !run }, () => {
  const suffix = uniqueSuffix();
  const admin = `coffer-admin-${suffix}`;
  const adminPassword = `Adm1n-${suffix}`;
  const key = `coffer-test:${suffix}:greeting`;
  let server: Awaited<ReturnType<typeof startWithDatabaseMount>>;

  const write = (path: string, body: unknown) => api(server.url, 'POST', path, { token: 'root', body });
  const read = (path: string) => api(server.url, 'GET', path, { token: 'root' });
  const redisConfig = (port: number) => ({
    plugin_name: 'redis-database-plugin',
    host: '127.0.0.1',
    port,
    username: admin,
    password: adminPassword,
    allowed_roles: '*',
    verify_connection: port === 6379,
  });

  before(async () => {
    await redisAdmin('ACL', 'SETUSER', admin, 'on', `>${adminPassword}`, '~*', '&*', '+@all');
    await redisAdmin('SET', key, 'hello');
    server = await startWithDatabaseMount();
    const config = await write('database/config/redis', redisConfig(6379));
    assert.equal(config.status, 204, JSON.stringify(config.body));
    const role = await write('database/roles/reader', { db_name: 'redis', creation_statements: `["~coffer-test:${suffix}:*", "+get"]` });
    assert.equal(role.status, 204, JSON.stringify(role.body));
  });

  after(async () => {
    await server?.close();
    const users = (await redisAdmin('ACL', 'USERS')) as string[];
    for (const user of users.filter((name) => name.includes(suffix.toUpperCase()) || name.includes(suffix))) await redisAdmin('ACL', 'DELUSER', user);
    await redisAdmin('DEL', key);
  });

  test('creds read within their rules', async () => {
    const creds = await read('database/creds/reader');
    assert.equal(creds.status, 200, JSON.stringify(creds.body));
    const { username, password } = creds.body.data;
    assert.match(username, /^V_ROOT_READER_/);
    assert.equal(await redisLogin(username, password, key), 'hello');
    const denied = await rejection(redisLogin(username, password, 'outside-the-prefix'));
    assert.match(denied.message, /NOPERM/);
    await server.backend().secretTypes!.creds.revoke(leaseContext(server.context(), { username, role: 'reader', db_name: 'redis' }));
    const loginError = await rejection(redisLogin(username, password, key));
    assert.match(loginError.message, /WRONGPASS/);
  });

  test('revocation fails while down and succeeds after', async () => {
    const creds = await read('database/creds/reader');
    const { username, password } = creds.body.data;
    const closedPort = await freePort();
    assert.equal((await write('database/config/redis', redisConfig(closedPort))).status, 204);

    const revoke = server.backend().secretTypes!.creds.revoke;
    const internalData = { username, role: 'reader', db_name: 'redis' };
    const failure = await rejection(revoke(leaseContext(server.context(), internalData)));
    assert.match(failure.message, /ECONNREFUSED/);
    assert.equal(failure.message.includes(adminPassword), false);
    assert.equal(await redisLogin(username, password, key), 'hello');

    assert.equal((await write('database/config/redis', redisConfig(6379))).status, 204);
    await revoke(leaseContext(server.context(), internalData));
    await assert.rejects(redisLogin(username, password, key), /WRONGPASS/);
  });

  test('bad ACL rule returns 400 and leaves no user', async () => {
    await write('database/roles/bad-rules', { db_name: 'redis', creation_statements: '["+nosuchcommand"]' });
    const creds = await read('database/creds/bad-rules');
    assert.equal(creds.status, 400);
    assert.match(creds.body.errors[0], /Unknown command|Error in ACL SETUSER/i);
    const users = (await redisAdmin('ACL', 'USERS')) as string[];
    assert.equal(users.some((name) => name.startsWith('V_ROOT_BAD-RULE')), false);
  });

  test('static role keeps old password when rotation fails', async () => {
    const user = `coffer-static-${suffix}`;
    await redisAdmin('ACL', 'SETUSER', user, 'on', '>initial-pw', `~coffer-test:${suffix}:*`, '+get');
    const created = await write('database/static-roles/app', { db_name: 'redis', username: user, rotation_period: '1h' });
    assert.equal(created.status, 204, JSON.stringify(created.body));
    const first = (await read('database/static-creds/app')).body.data;
    assert.equal(await redisLogin(user, first.password, key), 'hello');
    await assert.rejects(redisLogin(user, 'initial-pw', key), /WRONGPASS/);

    const closedPort = await freePort();
    await write('database/config/redis', redisConfig(closedPort));
    const failed = await write('database/rotate-role/app', {});
    assert.equal(failed.status, 502);
    assert.match(failed.body.errors[0], /ECONNREFUSED/);
    const afterFailure = (await read('database/static-creds/app')).body.data;
    assert.equal(afterFailure.password, first.password);
    assert.equal(await redisLogin(user, first.password, key), 'hello');
    const role = (await read('database/static-roles/app')).body.data;
    assert.match(role.last_rotation_error, /ECONNREFUSED/);

    await write('database/config/redis', redisConfig(6379));
    assert.equal((await write('database/rotate-role/app', {})).status, 204);
    const rotated = (await read('database/static-creds/app')).body.data;
    assert.notEqual(rotated.password, first.password);
    assert.equal(await redisLogin(user, rotated.password, key), 'hello');
  });

  test('rotate-root locks out the old admin password', async () => {
    const rotating = `coffer-root-${suffix}`;
    await redisAdmin('ACL', 'SETUSER', rotating, 'on', '>root-before', '~*', '&*', '+@all');
    const config = await write('database/config/redis-rotate', { ...redisConfig(6379), username: rotating, password: 'root-before' });
    assert.equal(config.status, 204);
    assert.equal((await write('database/rotate-root/redis-rotate', {})).status, 204);
    await assert.rejects(redisLogin(rotating, 'root-before', key), /WRONGPASS/);
    const verify = await write('database/config/redis-rotate', { verify_connection: true });
    assert.equal(verify.status, 204, JSON.stringify(verify.body));
  });
});
