import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, startDevServer } from '../../helpers/server.js';

describe('response wrapping over HTTP', () => {
  let server: Awaited<ReturnType<typeof startDevServer>>;
  before(async () => {
    server = await startDevServer();
    await api(server.url, 'POST', 'secret/data/wrapped', { token: 'root', body: { data: { pw: 'inside' } } });
  });
  after(() => server.close());

  const wrappedRead = async (ttl: string) => api(server.url, 'GET', 'secret/data/wrapped', { token: 'root', headers: { 'X-Vault-Wrap-TTL': ttl } });

  it('returns wrap_info and no data', async () => {
    const { status, body } = await wrappedRead('60s');
    assert.equal(status, 200);
    assert.equal(body.data, null);
    assert.equal(body.wrap_info.ttl, 60);
    assert.equal(body.wrap_info.creation_path, 'secret/data/wrapped');
    assert.match(body.wrap_info.token, /^hvs\./);
    assert.ok(!JSON.stringify(body).includes('inside'));
  });

  it('unwraps once with the token in the body', async () => {
    const wrapped = (await wrappedRead('5m')).body.wrap_info.token;
    const lookup = await api(server.url, 'POST', 'sys/wrapping/lookup', { body: { token: wrapped } });
    assert.equal(lookup.status, 200);
    assert.equal(lookup.body.data.creation_ttl, 300);

    const first = await api(server.url, 'POST', 'sys/wrapping/unwrap', { token: 'root', body: { token: wrapped } });
    assert.equal(first.status, 200);
    assert.deepEqual(first.body.data.data, { pw: 'inside' });

    const second = await api(server.url, 'POST', 'sys/wrapping/unwrap', { token: 'root', body: { token: wrapped } });
    assert.equal(second.status, 400);
    assert.match(second.body.errors[0], /wrapping token is not valid/);
  });

  it('unwraps with the wrapping token as the client token', async () => {
    const wrapped = (await wrappedRead('60')).body.wrap_info.token;
    const unwrapped = await api(server.url, 'POST', 'sys/wrapping/unwrap', { token: wrapped });
    assert.equal(unwrapped.status, 200);
    assert.deepEqual(unwrapped.body.data.data, { pw: 'inside' });
    const again = await api(server.url, 'POST', 'sys/wrapping/unwrap', { token: wrapped });
    assert.equal(again.status, 400);
    assert.match(again.body.errors[0], /wrapping token is not valid/);
  });

  it('unwraps without any client token', async () => {
    const wrapped = (await wrappedRead('60s')).body.wrap_info.token;
    const unwrapped = await api(server.url, 'POST', 'sys/wrapping/unwrap', { body: { token: wrapped } });
    assert.equal(unwrapped.status, 200);
    assert.deepEqual(unwrapped.body.data.data, { pw: 'inside' });
  });

  it('wraps arbitrary data and rewraps it', async () => {
    const wrapped = await api(server.url, 'POST', 'sys/wrapping/wrap', { token: 'root', body: { hello: 'world' }, headers: { 'X-Vault-Wrap-TTL': '2m' } });
    assert.equal(wrapped.status, 200);
    const rewrapped = await api(server.url, 'POST', 'sys/wrapping/rewrap', { token: 'root', body: { token: wrapped.body.wrap_info.token } });
    assert.equal(rewrapped.status, 200);
    assert.notEqual(rewrapped.body.wrap_info.token, wrapped.body.wrap_info.token);
    const old = await api(server.url, 'POST', 'sys/wrapping/unwrap', { token: 'root', body: { token: wrapped.body.wrap_info.token } });
    assert.equal(old.status, 400);
    const unwrapped = await api(server.url, 'POST', 'sys/wrapping/unwrap', { token: 'root', body: { token: rewrapped.body.wrap_info.token } });
    assert.deepEqual(unwrapped.body.data, { hello: 'world' });
  });

  it('rejects bad wrap TTLs', async () => {
    for (const ttl of ['-1s', '10x', '0']) {
      const { status } = await wrappedRead(ttl);
      assert.equal(status, 400, `wrap TTL ${ttl}`);
    }
  });

  it('enforces policy wrapping TTL bounds', async () => {
    const policy = 'path "secret/data/wrapped" {\n  capabilities = ["read"]\n  min_wrapping_ttl = "1m"\n  max_wrapping_ttl = "10m"\n}\n';
    assert.equal((await api(server.url, 'PUT', 'sys/policies/acl/wrap-bounds', { token: 'root', body: { policy } })).status, 204);
    const created = await api(server.url, 'POST', 'auth/token/create', { token: 'root', body: { policies: ['wrap-bounds'] } });
    const token = created.body.auth.client_token;
    const read = (headers: Record<string, string>) => api(server.url, 'GET', 'secret/data/wrapped', { token, headers });
    assert.equal((await read({})).status, 400, 'unwrapped read must be refused');
    assert.equal((await read({ 'X-Vault-Wrap-TTL': '30s' })).status, 400, 'below the minimum');
    assert.equal((await read({ 'X-Vault-Wrap-TTL': '1h' })).status, 400, 'above the maximum');
    assert.equal((await read({ 'X-Vault-Wrap-TTL': '5m' })).status, 200);
  });
});
