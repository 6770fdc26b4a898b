import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { api, startDevServer } from '../../helpers/server.js';

describe('leases over HTTP', () => {
  let server: Awaited<ReturnType<typeof startDevServer>>;
  const call = (method: string, path: string, body?: unknown, token = 'root') => api(server.url, method, path, { token, body });

  before(async () => {
    server = await startDevServer();
    assert.equal((await call('POST', 'sys/mounts/pki', { type: 'pki' })).status, 204);
    assert.equal((await call('POST', 'pki/root/generate/internal', { common_name: 'Lease Test Root', key_type: 'ec', ttl: '24h' })).status, 200);
    const role = await call('POST', 'pki/roles/leased', { allowed_domains: 'example.test', allow_subdomains: true, key_type: 'ec', ttl: '1h', max_ttl: '2h', generate_lease: true });
    assert.ok(role.status === 200 || role.status === 204, JSON.stringify(role.body));
  });
  after(() => server.close());

  const issue = async (token = 'root') => {
    const response = await call('POST', 'pki/issue/leased', { common_name: 'a.example.test' }, token);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body;
  };

  it('registers a lease for a dynamic secret', async () => {
    const body = await issue();
    assert.match(body.lease_id, /^pki\/issue\/leased\/.+/);
    assert.ok(body.lease_duration > 3590 && body.lease_duration <= 3600, String(body.lease_duration));
    const lookup = await call('PUT', 'sys/leases/lookup', { lease_id: body.lease_id });
    assert.equal(lookup.status, 200);
    assert.equal(lookup.body.data.id, body.lease_id);
    assert.ok(lookup.body.data.ttl > 3500);
  });

  it('revokes the certificate with its lease', async () => {
    const body = await issue();
    const serial = body.data.serial_number;
    assert.equal((await call('PUT', 'sys/leases/revoke', { lease_id: body.lease_id })).status, 204);
    const cert = await call('GET', `pki/cert/${serial}`);
    assert.ok(cert.body.data.revocation_time > 0, 'the certificate was not revoked with its lease');
    assert.equal((await call('PUT', 'sys/leases/lookup', { lease_id: body.lease_id })).status, 400);
  });

  it('lists leases by prefix with sudo', async () => {
    await issue();
    const listed = await call('LIST', 'sys/leases/lookup/pki/issue/leased/');
    assert.equal(listed.status, 200);
    assert.ok(listed.body.data.keys.length >= 1);
    const created = await call('POST', 'auth/token/create', { policies: ['default'] });
    const denied = await call('LIST', 'sys/leases/lookup/pki/issue/leased/', undefined, created.body.auth.client_token);
    assert.equal(denied.status, 403);
  });

  it('revokes a token leases with the token', async () => {
    await call('PUT', 'sys/policies/acl/issuer', { policy: 'path "pki/issue/*" { capabilities = ["update"] }' });
    const token = (await call('POST', 'auth/token/create', { policies: ['issuer'] })).body.auth.client_token;
    const body = await issue(token);
    assert.equal((await call('POST', 'auth/token/revoke', { token })).status, 204);
    assert.equal((await call('PUT', 'sys/leases/lookup', { lease_id: body.lease_id })).status, 400, 'the lease outlived its token');
  });

  it('revokes by prefix', async () => {
    const first = await issue();
    const second = await issue();
    assert.equal((await call('PUT', 'sys/leases/revoke-prefix/pki/issue/leased')).status, 204);
    for (const body of [first, second]) {
      assert.equal((await call('PUT', 'sys/leases/lookup', { lease_id: body.lease_id })).status, 400);
    }
  });

  it('expires a token on time without a lookup', async () => {
    const auth = (await call('POST', 'auth/token/create', { policies: ['default'], ttl: '2s' })).body.auth;
    const listed = async () => ((await call('LIST', 'auth/token/accessors')).body?.data?.keys ?? []) as string[];
    assert.ok((await listed()).includes(auth.accessor));
    await sleep(3500);
    assert.ok(!(await listed()).includes(auth.accessor), 'the expired token is still stored');
  });
});
