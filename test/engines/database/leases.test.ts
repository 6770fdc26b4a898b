import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { requireService } from '../../helpers/services.js';
import { api, freePort } from '../../helpers/server.js';
import { redisAdmin, redisAvailable, redisLogin, startWithDatabaseMount, uniqueSuffix } from './helpers.js';

const available = await redisAvailable();
const run = requireService('Redis', available, 'no Redis with ACL support answers on 127.0.0.1:6379');

describe('database leases over HTTP', { skip: !run }, () => {
  const suffix = uniqueSuffix();
  const key = `coffer-test:${suffix}:k`;
  let server: Awaited<ReturnType<typeof startWithDatabaseMount>>;
  const write = (path: string, body: unknown) => api(server.url, 'POST', path, { token: 'root', body });
  const read = (path: string) => api(server.url, 'GET', path, { token: 'root' });
  const redisConfig = (port: number) => ({
    plugin_name: 'redis-database-plugin',
    host: '127.0.0.1',
    port,
    username: 'default',
    password: 'unused',
    allowed_roles: 'reader',
    verify_connection: port === 6379,
  });

  before(async () => {
    await redisAdmin('SET', key, 'v');
    server = await startWithDatabaseMount();
    assert.equal((await write('database/config/redis', redisConfig(6379))).status, 204);
    await write('database/roles/reader', { db_name: 'redis', creation_statements: `["~coffer-test:${suffix}:*", "+get"]`, default_ttl: 300, max_ttl: 600 });
  });

  after(async () => {
    await server?.close();
    await redisAdmin('DEL', key);
  });

  test('lease renew and revoke remove the user', async () => {
    const creds = await read('database/creds/reader');
    assert.equal(creds.status, 200, JSON.stringify(creds.body));
    assert.match(creds.body.lease_id, /^database\/creds\/reader\//);
    assert.equal(creds.body.lease_duration, 300);
    assert.equal(creds.body.renewable, true);
    const { username, password } = creds.body.data;
    assert.equal(await redisLogin(username, password, key), 'v');

    const renewed = await write('sys/leases/renew', { lease_id: creds.body.lease_id, increment: 120 });
    assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
    assert.equal(renewed.body.lease_duration, 120);

    const revoked = await api(server.url, 'PUT', 'sys/leases/revoke', { token: 'root', body: { lease_id: creds.body.lease_id } });
    assert.equal(revoked.status, 204, JSON.stringify(revoked.body));
    await assert.rejects(redisLogin(username, password, key), /WRONGPASS/);
  });

  test('revocation waits for the database', async () => {
    const creds = await read('database/creds/reader');
    const { username, password } = creds.body.data;
    await write('database/config/redis', redisConfig(await freePort()));

    const revoked = await api(server.url, 'PUT', 'sys/leases/revoke', { token: 'root', body: { lease_id: creds.body.lease_id } });
    assert.equal(revoked.status, 400);
    assert.match(revoked.body.errors[0], /ECONNREFUSED/);
    // The user must still exist while the database is unreachable, and the lease stays.
    assert.equal(await redisLogin(username, password, key), 'v');
    const lookup = await write('sys/leases/lookup', { lease_id: creds.body.lease_id });
    assert.equal(lookup.status, 200);
    assert.match(lookup.body.data.last_error, /ECONNREFUSED/);

    await write('database/config/redis', redisConfig(6379));
    const retried = await api(server.url, 'PUT', 'sys/leases/revoke', { token: 'root', body: { lease_id: creds.body.lease_id } });
    assert.equal(retried.status, 204, JSON.stringify(retried.body));
    await assert.rejects(redisLogin(username, password, key), /WRONGPASS/);
  });
});
