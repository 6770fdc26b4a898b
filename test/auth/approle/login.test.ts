import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { approleBackend, type AppRoleBackend } from '../../../src/auth/approle/index.js';
import { BadRequestError } from '../../../src/errors.js';
import { mountAuth, snapshot, type AuthHarness } from '../harness.js';
import { expireSecretIds } from './expire.js';

/** Matches the one login failure: a 400 whose message names neither the role nor the secret ID. */
const LOGIN_FAILED = (err: unknown) => err instanceof BadRequestError && err.message === 'invalid role or secret ID';

async function setup(role: Record<string, unknown> = {}, secret: Record<string, unknown> = {}) {
  const h = await mountAuth<AppRoleBackend>(approleBackend, 'approle');
  await h.request('update', 'role/web', { data: role });
  const roleId = String((await h.request('read', 'role/web/role-id'))?.data?.role_id);
  const issued = role.bind_secret_id === false ? undefined : (await h.request('update', 'role/web/secret-id', { data: secret }))?.data;
  return { h, roleId, secretId: String(issued?.secret_id), accessor: String(issued?.secret_id_accessor) };
}

function login(h: AuthHarness<AppRoleBackend>, data: Record<string, unknown>, remoteAddress = '127.0.0.1') {
  return h.request('update', 'login', { data, remoteAddress });
}

describe('approle login', () => {
  test('returns auth built from the role', async () => {
    const { h, roleId, secretId, accessor } = await setup(
      {
        token_policies: 'web,db',
        token_ttl: '20m',
        token_max_ttl: '30m',
        token_explicit_max_ttl: '1h',
        token_num_uses: 7,
        token_no_default_policy: true,
        token_type: 'service',
        token_bound_cidrs: '127.0.0.0/8',
      },
      { metadata: '{"team":"blue"}' },
    );
    const response = await login(h, { role_id: roleId, secret_id: secretId });
    assert.deepEqual(response, {
      auth: {
        policies: ['db', 'web'],
        noDefaultPolicy: true,
        metadata: { team: 'blue', role_name: 'web' },
        displayName: undefined,
        ttl: 1200,
        maxTtl: 1800,
        explicitMaxTtl: 3600,
        period: 0,
        numUses: 7,
        renewable: true,
        boundCidrs: ['127.0.0.0/8'],
        tokenType: 'service',
        internalData: { role_name: 'web', role_folder: (response?.auth?.internalData as Record<string, unknown>).role_folder, secret_id_accessor: accessor },
      },
    });
  });

  test('secret ID metadata cannot replace role_name', async () => {
    const { h, roleId, secretId } = await setup({}, { metadata: { role_name: 'admin' } });
    const response = await login(h, { role_id: roleId, secret_id: secretId });
    assert.equal(response?.auth?.metadata?.role_name, 'web');
  });

  test('periodic role gives a period', async () => {
    const { h, roleId, secretId } = await setup({ token_period: '1h' });
    assert.equal((await login(h, { role_id: roleId, secret_id: secretId }))?.auth?.period, 3600);
  });

  test('wrong credentials give one message', async () => {
    const { h, roleId, secretId } = await setup();
    await assert.rejects(login(h, { role_id: 'unknown', secret_id: secretId }), LOGIN_FAILED);
    await assert.rejects(login(h, { role_id: roleId, secret_id: 'wrong' }), LOGIN_FAILED);
    await assert.rejects(login(h, { role_id: roleId.toUpperCase(), secret_id: secretId }), LOGIN_FAILED);
    await assert.rejects(login(h, { secret_id: secretId }), /missing "role_id"/);
    await assert.rejects(login(h, { role_id: roleId }), /missing "secret_id"/);
    await assert.rejects(login(h, { role_id: roleId, secret_id: '' }), /missing "secret_id"/);
    // The real secret ID still works after the failures.
    assert.ok((await login(h, { role_id: roleId, secret_id: secretId }))?.auth);
  });

  test('login after role-id change needs the new role ID', async () => {
    const { h, roleId, secretId } = await setup();
    await h.request('update', 'role/web/role-id', { data: { role_id: 'rotated' } });
    await assert.rejects(login(h, { role_id: roleId, secret_id: secretId }), LOGIN_FAILED);
    assert.ok((await login(h, { role_id: 'rotated', secret_id: secretId }))?.auth);
  });

  test('num_uses is spent and then refused', async () => {
    const { h, roleId, secretId } = await setup({}, { num_uses: 2 });
    assert.ok((await login(h, { role_id: roleId, secret_id: secretId }))?.auth);
    const looked = await h.request('update', 'role/web/secret-id/lookup', { data: { secret_id: secretId } });
    assert.equal(looked?.data?.secret_id_num_uses, 1);
    assert.ok((await login(h, { role_id: roleId, secret_id: secretId }))?.auth);
    await assert.rejects(login(h, { role_id: roleId, secret_id: secretId }), LOGIN_FAILED);
    assert.equal(await h.request('update', 'role/web/secret-id/lookup', { data: { secret_id: secretId } }), null);
    assert.equal(await h.request('list', 'role/web/secret-id'), null);
  });

  test('concurrent logins spend each use once', async () => {
    const { h, roleId, secretId } = await setup({}, { num_uses: 3 });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => login(h, { role_id: roleId, secret_id: secretId })));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
    assert.equal(results.filter((r) => r.status === 'rejected').length, 7);
  });

  test('expired secret ID is refused and removed', async () => {
    const { h, roleId, secretId } = await setup({}, { ttl: 60 });
    await expireSecretIds(h.storage, 60);
    await assert.rejects(login(h, { role_id: roleId, secret_id: secretId }), LOGIN_FAILED);
    assert.equal(await h.request('update', 'role/web/secret-id/lookup', { data: { secret_id: secretId } }), null);
  });

  test('role secret_id_bound_cidrs refuses other addresses', async () => {
    const { h, roleId, secretId } = await setup({ secret_id_bound_cidrs: '10.0.0.0/8' }, { num_uses: 1 });
    await assert.rejects(login(h, { role_id: roleId, secret_id: secretId }, '127.0.0.1'), LOGIN_FAILED);
    await assert.rejects(login(h, { role_id: roleId, secret_id: secretId }, '::1'), LOGIN_FAILED);
    // The refused logins spent nothing: the single use is still there, and a mapped address works.
    assert.ok((await login(h, { role_id: roleId, secret_id: secretId }, '::ffff:10.9.8.7'))?.auth);
  });

  test('secret ID cidr_list refuses other addresses without spending a use', async () => {
    const { h, roleId, secretId } = await setup({}, { cidr_list: '192.168.1.0/24', num_uses: 1 });
    const before = await snapshot(h.storage);
    await assert.rejects(login(h, { role_id: roleId, secret_id: secretId }, '192.168.2.1'), LOGIN_FAILED);
    assert.deepEqual(await snapshot(h.storage), before);
    assert.ok((await login(h, { role_id: roleId, secret_id: secretId }, '192.168.1.20'))?.auth);
  });

  test('token_bound_cidrs are checked at login', async () => {
    const { h, roleId, secretId } = await setup({ token_bound_cidrs: '10.0.0.0/8' }, { token_bound_cidrs: '10.1.0.0/16' });
    await assert.rejects(login(h, { role_id: roleId, secret_id: secretId }, '127.0.0.1'), LOGIN_FAILED);
    // Inside the role's blocks but outside the secret ID's narrower ones.
    await assert.rejects(login(h, { role_id: roleId, secret_id: secretId }, '10.2.0.1'), LOGIN_FAILED);
    const response = await login(h, { role_id: roleId, secret_id: secretId }, '10.1.2.3');
    assert.deepEqual(response?.auth?.boundCidrs, ['10.1.0.0/16']);
  });

  test('role without bind_secret_id logs in by role ID and address', async () => {
    const { h, roleId } = await setup({ bind_secret_id: false, secret_id_bound_cidrs: '127.0.0.1/32' });
    const response = await login(h, { role_id: roleId });
    assert.equal(response?.auth?.metadata?.role_name, 'web');
    assert.equal((response?.auth?.internalData as Record<string, unknown>).secret_id_accessor, undefined);
    await assert.rejects(login(h, { role_id: roleId }, '10.0.0.1'), LOGIN_FAILED);
  });

  test('secret IDs die with their role', async () => {
    const { h, secretId } = await setup({ role_id: 'fixed' });
    await h.request('delete', 'role/web');
    await h.request('update', 'role/web', { data: { role_id: 'fixed' } });
    await assert.rejects(login(h, { role_id: 'fixed', secret_id: secretId }), LOGIN_FAILED);
  });

  test('login paths need no token', async () => {
    const { h } = await setup();
    assert.deepEqual(h.backend.unauthenticatedPaths, ['login', 'login/*']);
  });
});

describe('approle renewAuth', () => {
  test('returns current policies and TTLs', async () => {
    const { h, roleId, secretId } = await setup({ token_policies: 'a', token_ttl: 60 });
    const auth = (await login(h, { role_id: roleId, secret_id: secretId }))!.auth!;
    await h.request('update', 'role/web', { data: { token_policies: 'b,c', token_ttl: 120, token_max_ttl: 600 } });
    const renewed = await h.backend.renewAuth({ internalData: auth.internalData!, metadata: auth.metadata!, backend: h.context });
    assert.deepEqual(renewed, { policies: ['b', 'c'], ttl: 120, maxTtl: 600, period: 0 });
  });

  test('refuses after the role is deleted', async () => {
    const { h, roleId, secretId } = await setup();
    const auth = (await login(h, { role_id: roleId, secret_id: secretId }))!.auth!;
    await h.request('delete', 'role/web');
    const renew = () => h.backend.renewAuth({ internalData: auth.internalData!, metadata: auth.metadata!, backend: h.context });
    await assert.rejects(renew(), (err: unknown) => err instanceof BadRequestError && /role "web" no longer exists/.test(err.message));

    // A new role under the same name is not the role the token came from.
    await h.request('update', 'role/web', { data: {} });
    await assert.rejects(renew(), BadRequestError);
  });
});
