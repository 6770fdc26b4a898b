import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, startDevServer } from '../helpers/server.js';

type DevServer = Awaited<ReturnType<typeof startDevServer>>;

describe('auth methods over HTTP', () => {
  let server: DevServer;
  const root = (method: string, path: string, body?: unknown) => api(server.url, method, path, { token: 'root', body });

  before(async () => {
    server = await startDevServer();
    const policy = 'path "secret/data/app" { capabilities = ["read"] }';
    assert.equal((await root('POST', 'sys/policies/acl/app-reader', { policy })).status, 204);
    assert.equal((await root('POST', 'secret/data/app', { data: { password: 'hunter2' } })).status, 200);
  });

  after(async () => {
    await server.close();
  });

  test('approle: enable, log in, use the token', async () => {
    assert.equal((await root('POST', 'sys/auth/approle', { type: 'approle' })).status, 204);
    assert.equal((await root('POST', 'auth/approle/role/app', { token_policies: 'app-reader', token_ttl: '1h' })).status, 204);
    const roleId = (await root('GET', 'auth/approle/role/app/role-id')).body.data.role_id;
    const issued = await root('POST', 'auth/approle/role/app/secret-id', {});
    assert.equal(issued.status, 200);

    const login = await api(server.url, 'POST', 'auth/approle/login', { body: { role_id: roleId, secret_id: issued.body.data.secret_id } });
    assert.equal(login.status, 200);
    assert.deepEqual(login.body.auth.policies, ['app-reader', 'default']);
    assert.deepEqual(login.body.auth.metadata, { role_name: 'app' });
    assert.equal(login.body.auth.lease_duration, 3600);
    assert.equal(login.body.auth.renewable, true);
    const token = login.body.auth.client_token;

    const secret = await api(server.url, 'GET', 'secret/data/app', { token });
    assert.equal(secret.status, 200);
    assert.equal(secret.body.data.data.password, 'hunter2');
    assert.equal((await api(server.url, 'GET', 'auth/approle/role/app', { token })).status, 403);
  });

  test('approle: bad login is a 400 with one message', async () => {
    const bad = await api(server.url, 'POST', 'auth/approle/login', { body: { role_id: 'nope', secret_id: 'nope' } });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body, { errors: ['invalid role or secret ID'] });
  });

  test('approle: role writes need a token', async () => {
    const denied = await api(server.url, 'POST', 'auth/approle/role/other', { body: {} });
    assert.equal(denied.status, 403);
  });

  test('userpass: enable, log in, use the token', async () => {
    assert.equal((await root('POST', 'sys/auth/userpass', { type: 'userpass' })).status, 204);
    assert.equal((await root('POST', 'auth/userpass/users/mary', { password: 'correct horse', token_policies: 'app-reader' })).status, 204);

    const login = await api(server.url, 'POST', 'auth/userpass/login/Mary', { body: { password: 'correct horse' } });
    assert.equal(login.status, 200);
    assert.deepEqual(login.body.auth.metadata, { username: 'mary' });
    const token = login.body.auth.client_token;

    const self = await api(server.url, 'GET', 'auth/token/lookup-self', { token });
    assert.equal(self.status, 200);
    assert.deepEqual(self.body.data.policies, ['app-reader', 'default']);
    assert.equal((await api(server.url, 'GET', 'secret/data/app', { token })).status, 200);
  });

  test('userpass: wrong password and unknown user look alike', async () => {
    const wrong = await api(server.url, 'POST', 'auth/userpass/login/mary', { body: { password: 'wrong' } });
    const unknown = await api(server.url, 'POST', 'auth/userpass/login/nobody', { body: { password: 'wrong' } });
    assert.equal(wrong.status, 400);
    assert.equal(unknown.status, 400);
    assert.deepEqual(wrong.body, { errors: ['invalid username or password'] });
    assert.deepEqual(unknown.body, wrong.body);
  });

  test('userpass: CIDR binding refuses the loopback caller', async () => {
    assert.equal((await root('POST', 'auth/userpass/users/bound', { password: 'pw', token_bound_cidrs: '10.0.0.0/8' })).status, 204);
    const refused = await api(server.url, 'POST', 'auth/userpass/login/bound', { body: { password: 'pw' } });
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.body, { errors: ['invalid username or password'] });
  });
});
