import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, startDevServer } from '../helpers/server.js';

describe('login tokens over HTTP', () => {
  let server: Awaited<ReturnType<typeof startDevServer>>;
  const call = (method: string, path: string, body?: unknown, token: string | undefined = 'root') => api(server.url, method, path, { token, body });
  before(async () => {
    server = await startDevServer();
  });
  after(() => server.close());

  it('issues batch tokens from a batch auth mount', async () => {
    assert.equal((await call('POST', 'sys/auth/people', { type: 'userpass', config: { token_type: 'batch' } })).status, 204);
    assert.equal((await call('POST', 'auth/people/users/bob', { password: 'pw-bob-123' })).status, 204);
    const login = await call('POST', 'auth/people/login/bob', { password: 'pw-bob-123' }, undefined);
    assert.equal(login.status, 200);
    assert.equal(login.body.auth.token_type, 'batch');
    assert.match(login.body.auth.client_token, /^hvb\./);
    const tune = await call('GET', 'sys/auth/people/tune');
    assert.equal(tune.body.data.token_type, 'batch');
  });

  it('rejects an unknown token type', async () => {
    assert.equal((await call('POST', 'sys/auth/odd', { type: 'userpass', config: { token_type: 'weird' } })).status, 400);
  });

  it('stops renewals once the user is deleted', async () => {
    await call('POST', 'sys/auth/userpass', { type: 'userpass' });
    await call('POST', 'auth/userpass/users/carol', { password: 'pw-carol-123', token_ttl: '1h', token_max_ttl: '2h' });
    const login = await call('POST', 'auth/userpass/login/carol', { password: 'pw-carol-123' }, undefined);
    const token = login.body.auth.client_token;
    assert.equal((await call('POST', 'auth/token/renew-self', {}, token)).status, 200);
    assert.equal((await call('DELETE', 'auth/userpass/users/carol')).status, 204);
    assert.equal((await call('POST', 'auth/token/renew-self', {}, token)).status, 400);
  });

  it('revokes every token of a disabled auth method', async () => {
    await call('POST', 'sys/auth/temp', { type: 'userpass' });
    await call('POST', 'auth/temp/users/dan', { password: 'pw-dan-12345' });
    const token = (await call('POST', 'auth/temp/login/dan', { password: 'pw-dan-12345' }, undefined)).body.auth.client_token;
    assert.equal((await call('GET', 'auth/token/lookup-self', undefined, token)).status, 200);
    assert.equal((await call('DELETE', 'sys/auth/temp')).status, 204);
    assert.equal((await call('GET', 'auth/token/lookup-self', undefined, token)).status, 403);
  });
});
