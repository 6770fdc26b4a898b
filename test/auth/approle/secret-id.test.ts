import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { approleBackend, type AppRoleBackend } from '../../../src/auth/approle/index.js';
import { BadRequestError, NotFoundError } from '../../../src/errors.js';
import { MALFORMED_TTLS, mountAuth, snapshot } from '../harness.js';
import { expireSecretIds } from './expire.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function mountWithRole(role: Record<string, unknown> = {}) {
  const h = await mountAuth<AppRoleBackend>(approleBackend, 'approle');
  await h.request('update', 'role/r', { data: role });
  return h;
}

describe('approle secret-id', () => {
  test('generate returns Vault fields', async () => {
    const h = await mountWithRole({ secret_id_ttl: '10m', secret_id_num_uses: 40 });
    const data = (await h.request('update', 'role/r/secret-id', { data: {} }))?.data;
    assert.match(String(data?.secret_id), UUID);
    assert.match(String(data?.secret_id_accessor), UUID);
    assert.equal(data?.secret_id_ttl, 600);
    assert.equal(data?.secret_id_num_uses, 40);
  });

  test('request ttl and num_uses override within the role limits', async () => {
    const h = await mountWithRole({ secret_id_ttl: '10m', secret_id_num_uses: 40 });
    const data = (await h.request('update', 'role/r/secret-id', { data: { ttl: 60, num_uses: 3 } }))?.data;
    assert.equal(data?.secret_id_ttl, 60);
    assert.equal(data?.secret_id_num_uses, 3);
    await assert.rejects(h.request('update', 'role/r/secret-id', { data: { ttl: '11m' } }), /secret_id_ttl/);
    await assert.rejects(h.request('update', 'role/r/secret-id', { data: { num_uses: 41 } }), /secret_id_num_uses/);
    await assert.rejects(h.request('update', 'role/r/secret-id', { data: { num_uses: -1 } }), /negative/);
  });

  test('secret IDs are stored only as HMACs', async () => {
    const h = await mountWithRole();
    const data = (await h.request('update', 'role/r/secret-id', { data: {} }))?.data;
    const custom = (await h.request('update', 'role/r/custom-secret-id', { data: { secret_id: 'my-custom-secret' } }))?.data;
    assert.equal(custom?.secret_id, 'my-custom-secret');
    const entries = await snapshot(h.storage);
    for (const [key, value] of entries) {
      const text = key + Buffer.from(value, 'base64').toString('utf8');
      assert.ok(!text.includes(String(data?.secret_id)), key);
      assert.ok(!text.includes('my-custom-secret'), key);
    }
  });

  test('custom secret ID cannot be registered twice', async () => {
    const h = await mountWithRole();
    await h.request('update', 'role/r/custom-secret-id', { data: { secret_id: 'dup' } });
    await assert.rejects(h.request('update', 'role/r/custom-secret-id', { data: { secret_id: 'dup' } }), /already registered/);
    await assert.rejects(h.request('update', 'role/r/custom-secret-id', { data: {} }), /missing required field "secret_id"/);
    await assert.rejects(h.request('update', 'role/r/custom-secret-id', { data: { secret_id: '' } }), /cannot be empty/);
  });

  test('lookup by secret ID and by accessor', async () => {
    const h = await mountWithRole();
    const issued = (
      await h.request('update', 'role/r/secret-id', {
        data: { metadata: '{"team":"web"}', cidr_list: '127.0.0.0/8', token_bound_cidrs: ['127.0.0.1'], ttl: 600, num_uses: 2 },
      })
    )?.data;
    const looked = (await h.request('update', 'role/r/secret-id/lookup', { data: { secret_id: issued?.secret_id } }))?.data;
    assert.deepEqual(looked?.metadata, { team: 'web' });
    assert.deepEqual(looked?.cidr_list, ['127.0.0.0/8']);
    assert.deepEqual(looked?.token_bound_cidrs, ['127.0.0.1']);
    assert.equal(looked?.secret_id_accessor, issued?.secret_id_accessor);
    assert.equal(looked?.secret_id_num_uses, 2);
    assert.equal(looked?.secret_id_ttl, 600);
    const created = Date.parse(String(looked?.creation_time));
    assert.equal(Date.parse(String(looked?.expiration_time)) - created, 600_000);
    assert.equal(looked?.last_updated_time, looked?.creation_time);

    const byAccessor = (
      await h.request('update', 'role/r/secret-id-accessor/lookup', { data: { secret_id_accessor: issued?.secret_id_accessor } })
    )?.data;
    assert.deepEqual(byAccessor, looked);
  });

  test('lookup of a secret ID without expiry shows the zero time', async () => {
    const h = await mountWithRole();
    const issued = (await h.request('update', 'role/r/secret-id', { data: { metadata: { a: 'b' } } }))?.data;
    const looked = (await h.request('update', 'role/r/secret-id/lookup', { data: { secret_id: issued?.secret_id } }))?.data;
    assert.equal(looked?.expiration_time, '0001-01-01T00:00:00Z');
    assert.deepEqual(looked?.metadata, { a: 'b' });
  });

  test('unknown secret ID and accessor', async () => {
    const h = await mountWithRole();
    assert.equal(await h.request('update', 'role/r/secret-id/lookup', { data: { secret_id: 'nope' } }), null);
    await assert.rejects(h.request('update', 'role/r/secret-id-accessor/lookup', { data: { secret_id_accessor: 'nope' } }), NotFoundError);
    await assert.rejects(h.request('update', 'role/r/secret-id-accessor/destroy', { data: { secret_id_accessor: 'nope' } }), NotFoundError);
    await assert.rejects(h.request('update', 'role/none/secret-id', { data: {} }), /role "none" does not exist/);
  });

  test('a secret ID of one role is unknown to another', async () => {
    const h = await mountWithRole();
    await h.request('update', 'role/other', { data: {} });
    const issued = (await h.request('update', 'role/r/secret-id', { data: {} }))?.data;
    assert.equal(await h.request('update', 'role/other/secret-id/lookup', { data: { secret_id: issued?.secret_id } }), null);
    await assert.rejects(
      h.request('update', 'role/other/secret-id-accessor/lookup', { data: { secret_id_accessor: issued?.secret_id_accessor } }),
      NotFoundError,
    );
  });

  test('destroy by secret ID and by accessor', async () => {
    const h = await mountWithRole();
    const first = (await h.request('update', 'role/r/secret-id', { data: {} }))?.data;
    const second = (await h.request('update', 'role/r/secret-id', { data: {} }))?.data;
    assert.equal((await h.request('list', 'role/r/secret-id'))?.data?.keys instanceof Array, true);

    assert.equal(await h.request('update', 'role/r/secret-id/destroy', { data: { secret_id: first?.secret_id } }), null);
    assert.equal(await h.request('update', 'role/r/secret-id/lookup', { data: { secret_id: first?.secret_id } }), null);
    // Destroying again is not an error.
    assert.equal(await h.request('delete', 'role/r/secret-id/destroy', { data: { secret_id: first?.secret_id } }), null);

    await h.request('delete', 'role/r/secret-id-accessor/destroy', { data: { secret_id_accessor: second?.secret_id_accessor } });
    assert.equal(await h.request('update', 'role/r/secret-id/lookup', { data: { secret_id: second?.secret_id } }), null);
    assert.equal(await h.request('list', 'role/r/secret-id'), null);
  });

  test('list returns accessors, paginated', async () => {
    const h = await mountWithRole();
    const accessors: string[] = [];
    for (let i = 0; i < 3; i++) {
      accessors.push(String((await h.request('update', 'role/r/secret-id', { data: {} }))?.data?.secret_id_accessor));
    }
    accessors.sort();
    assert.deepEqual((await h.request('list', 'role/r/secret-id'))?.data, { keys: accessors });
    assert.deepEqual((await h.request('list', 'role/r/secret-id', { query: { limit: '1' } }))?.data, { keys: [accessors[0]] });
    assert.deepEqual((await h.request('list', 'role/r/secret-id', { query: { after: accessors[0] } }))?.data, { keys: accessors.slice(1) });
  });

  test('CIDR lists must lie within the role', async () => {
    const h = await mountWithRole({ secret_id_bound_cidrs: '10.0.0.0/8', token_bound_cidrs: '10.0.0.0/8' });
    await h.request('update', 'role/r/secret-id', { data: { cidr_list: '10.1.0.0/16', token_bound_cidrs: '10.2.0.0/16' } });
    await assert.rejects(h.request('update', 'role/r/secret-id', { data: { cidr_list: '192.168.0.0/16' } }), /cidr_list/);
    await assert.rejects(h.request('update', 'role/r/secret-id', { data: { token_bound_cidrs: '0.0.0.0/0' } }), /token_bound_cidrs/);
    await assert.rejects(h.request('update', 'role/r/secret-id', { data: { cidr_list: 'garbage' } }), /invalid CIDR block/);
  });

  test('bad input changes nothing', async () => {
    const h = await mountWithRole({ secret_id_ttl: 600 });
    const before = await snapshot(h.storage);
    for (const ttl of MALFORMED_TTLS) {
      await assert.rejects(h.request('update', 'role/r/secret-id', { data: { ttl } }), BadRequestError, String(ttl));
    }
    for (const metadata of ['not json', '[1]', '{"a": 1}', 5]) {
      await assert.rejects(h.request('update', 'role/r/secret-id', { data: { metadata } }), /metadata/, String(metadata));
    }
    await assert.rejects(h.request('update', 'role/r/secret-id', { data: { num_uses: 'x' } }), BadRequestError);
    assert.deepEqual(await snapshot(h.storage), before);
  });

  test('role without bind_secret_id issues no secret IDs', async () => {
    const h = await mountWithRole({ bind_secret_id: false, secret_id_bound_cidrs: '127.0.0.1/32' });
    await assert.rejects(h.request('update', 'role/r/secret-id', { data: {} }), /bind_secret_id is false/);
  });

  test('tidy removes expired secret IDs and dangling entries', async () => {
    const h = await mountWithRole();
    const expired = (await h.request('update', 'role/r/secret-id', { data: { ttl: 60 } }))?.data;
    const live = (await h.request('update', 'role/r/secret-id', { data: { ttl: 600 } }))?.data;
    await expireSecretIds(h.storage, 60);

    const response = await h.request('update', 'tidy/secret-id');
    assert.equal(response?.status, 202);
    assert.match(response?.warnings?.[0] ?? '', /tidy operation started/);
    assert.equal(await h.backend.tidyDone(), 1);

    assert.equal(await h.request('update', 'role/r/secret-id/lookup', { data: { secret_id: expired?.secret_id } }), null);
    assert.ok(await h.request('update', 'role/r/secret-id/lookup', { data: { secret_id: live?.secret_id } }));
    assert.deepEqual((await h.request('list', 'role/r/secret-id'))?.data, { keys: [live?.secret_id_accessor] });
  });

  test('tidy removes secret IDs left by a deleted role', async () => {
    const h = await mountWithRole();
    await h.request('update', 'role/r/secret-id', { data: {} });
    // Leave a folder behind as a crash part-way through a role deletion would.
    const folder = (await h.storage.list('secret-id/'))[0];
    const role = await h.storage.get('role/r');
    await h.storage.delete('role/r');
    await h.request('update', 'tidy/secret-id');
    assert.equal(await h.backend.tidyDone(), 2);
    assert.deepEqual(await h.storage.list('secret-id/'), []);
    assert.deepEqual(await h.storage.list('accessor/'), []);
    assert.ok(folder);
    assert.ok(role);
  });
});
