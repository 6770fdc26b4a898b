import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, startDevServer } from '../../helpers/server.js';

describe('token store over HTTP', () => {
  let server: Awaited<ReturnType<typeof startDevServer>>;
  const call = (method: string, path: string, token: string, body?: unknown) => api(server.url, method, path, { token, body });
  const create = async (token: string, body: Record<string, unknown> = {}, path = 'auth/token/create') => {
    const response = await call('POST', path, token, body);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body.auth as { client_token: string; accessor: string; policies: string[]; lease_duration: number; token_type: string; orphan: boolean };
  };

  before(async () => {
    server = await startDevServer();
    await call('PUT', 'sys/policies/acl/reader', 'root', { policy: 'path "secret/*" { capabilities = ["read"] }' });
    await call('PUT', 'sys/policies/acl/writer', 'root', { policy: 'path "secret/*" { capabilities = ["create", "update"] }' });
  });
  after(() => server.close());

  it('creates, looks up and revokes a token', async () => {
    const auth = await create('root', { policies: ['reader'], ttl: '1h', meta: { team: 'a' }, display_name: 'ci' });
    assert.deepEqual(auth.policies, ['default', 'reader']);
    assert.equal(auth.lease_duration, 3600);
    assert.match(auth.client_token, /^hvs\./);

    const self = await call('GET', 'auth/token/lookup-self', auth.client_token);
    assert.equal(self.status, 200);
    assert.equal(self.body.data.id, auth.client_token);
    assert.equal(self.body.data.display_name, 'token-ci');
    assert.deepEqual(self.body.data.meta, { team: 'a' });

    const byAccessor = await call('POST', 'auth/token/lookup-accessor', 'root', { accessor: auth.accessor });
    assert.equal(byAccessor.body.data.id, '');
    assert.deepEqual(byAccessor.body.data.policies, ['default', 'reader']);

    assert.equal((await call('POST', 'auth/token/revoke-accessor', 'root', { accessor: auth.accessor })).status, 204);
    assert.equal((await call('GET', 'auth/token/lookup-self', auth.client_token)).status, 403);
  });

  it('refuses policies the parent lacks', async () => {
    const parent = await create('root', { policies: ['reader'] });
    await call('PUT', 'sys/policies/acl/creator', 'root', { policy: 'path "auth/token/create" { capabilities = ["update"] }' });
    const creator = await create('root', { policies: ['reader', 'creator'] });
    const denied = await call('POST', 'auth/token/create', creator.client_token, { policies: ['writer'] });
    assert.equal(denied.status, 400);
    const allowed = await call('POST', 'auth/token/create', creator.client_token, { policies: ['reader'] });
    assert.equal(allowed.status, 200);
    assert.ok(parent.client_token);
  });

  it('revokes children with the parent and keeps orphans', async () => {
    const parent = await create('root', { policies: ['reader'] });
    await call('PUT', 'sys/policies/acl/creator2', 'root', { policy: 'path "auth/token/create" { capabilities = ["update"] }' });
    const creator = await create('root', { policies: ['creator2', 'reader'] });
    const child = await create(creator.client_token, { policies: ['reader'] });
    const grandchild = await create(child.client_token, { policies: ['reader'] }).catch(() => null);
    const orphan = await create('root', { policies: ['reader'] }, 'auth/token/create-orphan');
    assert.equal(orphan.orphan, true);

    assert.equal((await call('POST', 'auth/token/revoke', 'root', { token: creator.client_token })).status, 204);
    assert.equal((await call('GET', 'auth/token/lookup-self', child.client_token)).status, 403);
    if (grandchild) assert.equal((await call('GET', 'auth/token/lookup-self', grandchild.client_token)).status, 403);
    assert.equal((await call('GET', 'auth/token/lookup-self', orphan.client_token)).status, 200);
    assert.equal((await call('GET', 'auth/token/lookup-self', parent.client_token)).status, 200);
  });

  it('revoke-orphan keeps the children', async () => {
    const parent = await create('root', { policies: ['root'] });
    const child = await create(parent.client_token, { policies: ['reader'] });
    assert.equal((await call('POST', 'auth/token/revoke-orphan', 'root', { token: parent.client_token })).status, 204);
    const lookup = await call('GET', 'auth/token/lookup-self', child.client_token);
    assert.equal(lookup.status, 200);
    assert.equal(lookup.body.data.orphan, true);
  });

  it('counts uses and revokes at the last one', async () => {
    const limited = await create('root', { policies: ['reader'], num_uses: 2 });
    assert.equal((await call('GET', 'auth/token/lookup-self', limited.client_token)).status, 200);
    assert.equal((await call('GET', 'auth/token/lookup-self', limited.client_token)).status, 200);
    assert.equal((await call('GET', 'auth/token/lookup-self', limited.client_token)).status, 403);
  });

  it('renews up to the explicit max TTL with a warning', async () => {
    const auth = await create('root', { policies: ['reader'], ttl: '10m', explicit_max_ttl: '20m' });
    const renewed = await call('POST', 'auth/token/renew-self', auth.client_token, { increment: '1h' });
    assert.equal(renewed.status, 200);
    assert.ok(renewed.body.auth.lease_duration <= 1200);
    assert.ok(renewed.body.auth.lease_duration > 1100);
    assert.ok(renewed.body.warnings?.length, 'a capped renewal carries a warning');
  });

  it('rejects malformed TTLs and changes nothing', async () => {
    const before = await call('LIST', 'auth/token/accessors', 'root');
    for (const ttl of ['-1s', '10x', '99999999999999h']) {
      const response = await call('POST', 'auth/token/create', 'root', { ttl });
      assert.equal(response.status, 400, `ttl ${ttl}`);
    }
    const afterList = await call('LIST', 'auth/token/accessors', 'root');
    assert.deepEqual(afterList.body.data.keys.length, before.body.data.keys.length);
  });

  it('creates tokens through a role', async () => {
    assert.equal(
      (await call('POST', 'auth/token/roles/ci', 'root', { allowed_policies: ['reader'], orphan: true, token_period: '1h', path_suffix: 'v1' })).status,
      204,
    );
    const role = await call('GET', 'auth/token/roles/ci', 'root');
    assert.equal(role.body.data.token_period, 3600);
    assert.deepEqual((await call('LIST', 'auth/token/roles', 'root')).body.data.keys, ['ci']);

    const auth = await create('root', {}, 'auth/token/create/ci');
    assert.deepEqual(auth.policies, ['default', 'reader']);
    assert.equal(auth.orphan, true);
    assert.equal(auth.lease_duration, 3600);
    const lookup = await call('GET', 'auth/token/lookup-self', auth.client_token);
    assert.equal(lookup.body.data.path, 'auth/token/create/ci/v1');

    const outside = await call('POST', 'auth/token/create/ci', 'root', { policies: ['writer'] });
    assert.equal(outside.status, 400);
    assert.equal((await call('POST', 'auth/token/create/nope', 'root', {})).status, 400);
  });

  it('issues batch tokens that cannot renew, revoke or have children', async () => {
    await call('PUT', 'sys/policies/acl/batch-creator', 'root', { policy: 'path "auth/token/create" { capabilities = ["update"] }' });
    const batch = await create('root', { policies: ['reader', 'batch-creator'], type: 'batch', ttl: '10m' });
    assert.match(batch.client_token, /^hvb\./);
    assert.equal(batch.token_type, 'batch');
    assert.equal(batch.accessor, '');

    const lookup = await call('GET', 'auth/token/lookup-self', batch.client_token);
    assert.equal(lookup.status, 200);
    assert.equal(lookup.body.data.type, 'batch');
    assert.equal((await call('POST', 'auth/token/renew-self', batch.client_token, {})).status, 400);
    assert.equal((await call('POST', 'auth/token/create', batch.client_token, {})).status, 400);
    assert.equal((await call('GET', 'cubbyhole/x', batch.client_token)).status, 400);
    assert.equal((await call('POST', 'auth/token/create', 'root', { policies: ['root'], type: 'batch' })).status, 400);

    const tampered = batch.client_token.slice(0, -2) + (batch.client_token.endsWith('A') ? 'BB' : 'AA');
    assert.equal((await call('GET', 'auth/token/lookup-self', tampered)).status, 403);
  });

  it('invalidates a batch token when its parent is revoked', async () => {
    const parent = await create('root', { policies: ['root'] });
    const batch = await create(parent.client_token, { policies: ['reader'], type: 'batch', ttl: '10m' });
    assert.equal((await call('GET', 'auth/token/lookup-self', batch.client_token)).status, 200);
    await call('POST', 'auth/token/revoke', 'root', { token: parent.client_token });
    assert.equal((await call('GET', 'auth/token/lookup-self', batch.client_token)).status, 403);
  });
});
