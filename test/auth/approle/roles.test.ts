import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { approleBackend, type AppRoleBackend } from '../../../src/auth/approle/index.js';
import { BadRequestError, NotFoundError } from '../../../src/errors.js';
import { MALFORMED_TTLS, mountAuth, snapshot } from '../harness.js';

const mount = () => mountAuth<AppRoleBackend>(approleBackend, 'approle');

describe('approle roles', () => {
  test('create then read returns defaults and settings', async () => {
    const h = await mount();
    assert.equal(await h.writeKind('role/web'), 'create');
    const written = await h.request('update', 'role/web', {
      data: { token_policies: 'web,DB', token_ttl: '20m', token_max_ttl: '30m', secret_id_ttl: '10m', secret_id_num_uses: 40 },
    });
    assert.equal(written, null);
    assert.equal(await h.writeKind('role/web'), 'update');

    const read = await h.request('read', 'role/web');
    assert.deepEqual(read?.data, {
      bind_secret_id: true,
      secret_id_bound_cidrs: [],
      secret_id_num_uses: 40,
      secret_id_ttl: 600,
      local_secret_ids: false,
      token_policies: ['db', 'web'],
      policies: ['db', 'web'],
      token_ttl: 1200,
      token_max_ttl: 1800,
      token_explicit_max_ttl: 0,
      token_period: 0,
      token_num_uses: 0,
      token_bound_cidrs: [],
      token_no_default_policy: false,
      token_type: 'default',
      period: 0,
    });
  });

  test('role names are lower-cased', async () => {
    const h = await mount();
    await h.request('update', 'role/MyRole', { data: {} });
    assert.ok(await h.request('read', 'role/myrole'));
    assert.ok(await h.request('read', 'role/MYROLE'));
    assert.deepEqual((await h.request('list', 'role'))?.data, { keys: ['myrole'] });
  });

  test('invalid role names are rejected', async () => {
    const h = await mount();
    for (const name of ['a*b', 'x'.repeat(4096), 'semi;colon']) {
      await assert.rejects(h.request('update', `role/${name}`, { data: {} }), BadRequestError, name.slice(0, 10));
    }
  });

  test('update keeps absent fields', async () => {
    const h = await mount();
    await h.request('update', 'role/r', { data: { token_policies: 'a', token_ttl: 60 } });
    await h.request('update', 'role/r', { data: { token_num_uses: 5 } });
    const data = (await h.request('read', 'role/r'))?.data;
    assert.deepEqual(data?.token_policies, ['a']);
    assert.equal(data?.token_ttl, 60);
    assert.equal(data?.token_num_uses, 5);
  });

  test('deprecated policies and period are read', async () => {
    const h = await mount();
    await h.request('update', 'role/r', { data: { policies: ['p1'], period: '1h' } });
    const data = (await h.request('read', 'role/r'))?.data;
    assert.deepEqual(data?.token_policies, ['p1']);
    assert.equal(data?.token_period, 3600);
    assert.equal(data?.period, 3600);
  });

  test('missing role reads as 404 and lists empty', async () => {
    const h = await mount();
    assert.equal(await h.request('read', 'role/none'), null);
    assert.equal(await h.request('read', 'role/none/role-id'), null);
    assert.equal(await h.request('list', 'role/'), null);
  });

  test('list is paginated', async () => {
    const h = await mount();
    for (const name of ['a', 'b', 'c', 'd']) await h.request('update', `role/${name}`, { data: {} });
    assert.deepEqual((await h.request('list', 'role', { query: { limit: '2' } }))?.data, { keys: ['a', 'b'] });
    assert.deepEqual((await h.request('list', 'role', { query: { after: 'b' } }))?.data, { keys: ['c', 'd'] });
    await assert.rejects(h.request('list', 'role', { query: { limit: '-1' } }), BadRequestError);
  });

  test('at least one constraint is required', async () => {
    const h = await mount();
    await assert.rejects(h.request('update', 'role/r', { data: { bind_secret_id: false } }), /at least one constraint/);
    assert.equal(await h.request('read', 'role/r'), null);
    await h.request('update', 'role/r', { data: { bind_secret_id: false, secret_id_bound_cidrs: '10.0.0.0/8' } });
    assert.equal((await h.request('read', 'role/r'))?.data?.bind_secret_id, false);
  });

  test('malformed values change nothing', async () => {
    const h = await mount();
    await h.request('update', 'role/r', { data: { token_ttl: 60 } });
    const before = await snapshot(h.storage);
    const fields = ['token_ttl', 'token_max_ttl', 'token_period', 'token_explicit_max_ttl', 'secret_id_ttl', 'period'];
    for (const field of fields) {
      for (const value of MALFORMED_TTLS) {
        await assert.rejects(h.request('update', 'role/r', { data: { [field]: value } }), BadRequestError, `${field}=${String(value)}`);
        await assert.rejects(h.request('update', 'role/new', { data: { [field]: value } }), BadRequestError);
      }
    }
    const others: Array<Record<string, unknown>> = [
      { secret_id_num_uses: -1 },
      { token_num_uses: -2 },
      { token_type: 'nonsense' },
      { secret_id_bound_cidrs: '300.0.0.0/8' },
      { token_bound_cidrs: ['10.0.0.0/8', 'bad'] },
      { token_ttl: 100, token_max_ttl: 10 },
      { role_id: '   ' },
      { local_secret_ids: true },
      { token_type: 'batch', token_num_uses: 3 },
    ];
    for (const data of others) {
      await assert.rejects(h.request('update', 'role/r', { data }), BadRequestError, JSON.stringify(data));
    }
    assert.deepEqual(await snapshot(h.storage), before);
  });

  test('max TTL above the mount maximum gives a warning', async () => {
    const h = await mount();
    const response = await h.request('update', 'role/r', { data: { token_max_ttl: 2764800 + 1 } });
    assert.match(response?.warnings?.[0] ?? '', /capped/);
  });

  test('delete removes the role and its secret IDs', async () => {
    const h = await mount();
    await h.request('update', 'role/r', { data: {} });
    await h.request('update', 'role/r/secret-id', { data: {} });
    assert.equal(await h.request('delete', 'role/r'), null);
    assert.equal(await h.request('read', 'role/r'), null);
    const keys = [...(await snapshot(h.storage)).keys()];
    assert.deepEqual(keys, ['salt']);
    // Deleting again is not an error.
    assert.equal(await h.request('delete', 'role/r'), null);
  });
});

describe('approle role-id', () => {
  test('generated role ID is a UUID', async () => {
    const h = await mount();
    await h.request('update', 'role/r', { data: {} });
    const roleId = (await h.request('read', 'role/r/role-id'))?.data?.role_id;
    assert.match(String(roleId), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test('set role ID, and at creation', async () => {
    const h = await mount();
    await h.request('update', 'role/r', { data: { role_id: 'first' } });
    assert.deepEqual((await h.request('read', 'role/r/role-id'))?.data, { role_id: 'first' });
    await h.request('update', 'role/r/role-id', { data: { role_id: 'second' } });
    assert.deepEqual((await h.request('read', 'role/r/role-id'))?.data, { role_id: 'second' });
  });

  test('role ID must be unique', async () => {
    const h = await mount();
    await h.request('update', 'role/a', { data: { role_id: 'shared' } });
    await h.request('update', 'role/b', { data: {} });
    await assert.rejects(h.request('update', 'role/b/role-id', { data: { role_id: 'shared' } }), /already in use/);
    await assert.rejects(h.request('update', 'role/c', { data: { role_id: 'shared' } }), /already in use/);
    assert.equal(await h.request('read', 'role/c'), null);
    // Re-setting a role's own role ID is allowed.
    await h.request('update', 'role/a/role-id', { data: { role_id: 'shared' } });
  });

  test('role-id write needs the role and a value', async () => {
    const h = await mount();
    await assert.rejects(h.request('update', 'role/none/role-id', { data: { role_id: 'x' } }), NotFoundError);
    await h.request('update', 'role/r', { data: {} });
    await assert.rejects(h.request('update', 'role/r/role-id', { data: {} }), /missing "role_id"/);
  });
});

describe('approle role properties', () => {
  test('each property reads, sets and resets', async () => {
    const h = await mount();
    await h.request('update', 'role/r', { data: { token_bound_cidrs: '10.0.0.0/8' } });
    const cases: Array<[string, string, unknown, unknown, unknown]> = [
      ['policies', 'token_policies', 'a,b', ['a', 'b'], []],
      ['secret-id-num-uses', 'secret_id_num_uses', 5, 5, 0],
      ['secret-id-ttl', 'secret_id_ttl', '1m', 60, 0],
      ['token-ttl', 'token_ttl', '2m', 120, 0],
      ['token-max-ttl', 'token_max_ttl', '3m', 180, 0],
      ['token-num-uses', 'token_num_uses', 4, 4, 0],
      ['bind-secret-id', 'bind_secret_id', false, false, true],
      ['secret-id-bound-cidrs', 'secret_id_bound_cidrs', '192.168.0.0/16', ['192.168.0.0/16'], []],
      ['period', 'token_period', '4m', 240, 0],
    ];
    for (const [segment, field, input, stored, reset] of cases) {
      assert.equal(await h.request('update', `role/r/${segment}`, { data: { [field]: input } }), null, segment);
      assert.deepEqual((await h.request('read', `role/r/${segment}`))?.data?.[field], stored, segment);
      assert.deepEqual((await h.request('read', 'role/r'))?.data?.[field], stored, segment);
      await h.request('delete', `role/r/${segment}`);
      assert.deepEqual((await h.request('read', `role/r/${segment}`))?.data?.[field], reset, segment);
    }
  });

  test('deprecated names on property paths', async () => {
    const h = await mount();
    await h.request('update', 'role/r', { data: {} });
    await h.request('update', 'role/r/policies', { data: { policies: 'x' } });
    assert.deepEqual((await h.request('read', 'role/r/policies'))?.data, { token_policies: ['x'], policies: ['x'] });
    await h.request('update', 'role/r/period', { data: { period: 30 } });
    assert.deepEqual((await h.request('read', 'role/r/period'))?.data, { token_period: 30, period: 30 });
  });

  test('property writes check their input', async () => {
    const h = await mount();
    await assert.rejects(h.request('update', 'role/none/token-ttl', { data: { token_ttl: 5 } }), NotFoundError);
    assert.equal(await h.request('read', 'role/none/token-ttl'), null);
    await h.request('update', 'role/r', { data: {} });
    await assert.rejects(h.request('update', 'role/r/token-ttl', { data: {} }), /missing "token_ttl"/);
    await assert.rejects(h.request('update', 'role/r/token-ttl', { data: { token_ttl: '-1s' } }), BadRequestError);
    // Turning off bind_secret_id with no CIDR binding leaves the role without a constraint.
    await assert.rejects(h.request('update', 'role/r/bind-secret-id', { data: { bind_secret_id: false } }), /at least one constraint/);
    assert.equal((await h.request('read', 'role/r'))?.data?.bind_secret_id, true);
  });
});
