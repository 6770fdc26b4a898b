import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BadRequestError } from '../../../src/errors.js';
import { mountKv, snapshot, type KvHarness } from './harness.js';

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

function mountV2(): Promise<KvHarness> {
  return mountKv({ version: '2' });
}

function put(kv: KvHarness, path: string, data: Record<string, unknown>) {
  return kv.request('update', `data/${path}`, { data: { data } });
}

async function readMeta(kv: KvHarness, path: string): Promise<Record<string, unknown>> {
  const response = await kv.request('read', `metadata/${path}`);
  assert.ok(response?.data, `metadata of ${path} should exist`);
  return response.data;
}

describe('kv v2 config', () => {
  test('config defaults', async () => {
    const kv = await mountV2();
    assert.deepEqual(await kv.request('read', 'config'), {
      data: { cas_required: false, delete_version_after: '0s', max_versions: 0 },
    });
  });

  test('write updates only the given settings', async () => {
    const kv = await mountV2();
    assert.equal(await kv.request('update', 'config', { data: { max_versions: 5, delete_version_after: '3h25m19s' } }), null);
    await kv.request('update', 'config', { data: { cas_required: true } });
    assert.deepEqual(await kv.request('read', 'config'), {
      data: { cas_required: true, delete_version_after: '3h25m19s', max_versions: 5 },
    });
  });

  test('durations print as Go does', async () => {
    const kv = await mountV2();
    const cases: Array<[unknown, string]> = [[90, '1m30s'], ['45s', '45s'], ['2h', '2h0m0s'], [0, '0s']];
    for (const [input, shown] of cases) {
      await kv.request('update', 'config', { data: { delete_version_after: input } });
      const config = await kv.request('read', 'config');
      assert.equal(config?.data?.delete_version_after, shown, String(input));
    }
  });

  test('bad input is rejected', async () => {
    const kv = await mountV2();
    await assert.rejects(kv.request('update', 'config', { data: { max_versions: -1 } }), BadRequestError);
    await assert.rejects(kv.request('update', 'config', { data: { max_versions: 'many' } }), BadRequestError);
    await assert.rejects(kv.request('update', 'config', { data: { cas_required: 'maybe' } }), BadRequestError);
    await assert.rejects(kv.request('update', 'config', { data: { delete_version_after: 'soon' } }), BadRequestError);
    const ignored = await kv.request('update', 'config', { data: { max_version: 3 } });
    assert.deepEqual(ignored?.warnings, ['ignored unrecognized parameters: max_version']);
    assert.deepEqual(await kv.request('read', 'config'), {
      data: { cas_required: false, delete_version_after: '0s', max_versions: 0 },
    });
  });
});

describe('kv v2 metadata', () => {
  test('read shape after writes', async () => {
    const kv = await mountV2();
    const first = await put(kv, 'app', { v: 1 });
    const second = await put(kv, 'app', { v: 2 });
    const meta = await readMeta(kv, 'app');

    assert.deepEqual(Object.keys(meta).sort(), [
      'cas_required',
      'created_time',
      'current_version',
      'custom_metadata',
      'delete_version_after',
      'max_versions',
      'oldest_version',
      'updated_time',
      'versions',
    ]);
    assert.equal(meta.cas_required, false);
    assert.equal(meta.created_time, first?.data?.created_time);
    assert.equal(meta.updated_time, second?.data?.created_time);
    assert.equal(meta.current_version, 2);
    assert.equal(meta.custom_metadata, null);
    assert.equal(meta.delete_version_after, '0s');
    assert.equal(meta.max_versions, 0);
    assert.equal(meta.oldest_version, 0);
    assert.deepEqual(meta.versions, {
      '1': { created_time: first?.data?.created_time, deletion_time: '', destroyed: false },
      '2': { created_time: second?.data?.created_time, deletion_time: '', destroyed: false },
    });
  });

  test('missing key reads as 404', async () => {
    const kv = await mountV2();
    assert.deepEqual(await kv.request('read', 'metadata/none'), { status: 404, data: null });
    assert.deepEqual(await kv.request('read', 'metadata/'), { status: 404, data: null });
  });

  test('write creates a key without versions', async () => {
    const kv = await mountV2();
    assert.equal(await kv.writeKind('metadata/app'), 'create');
    const written = await kv.request('update', 'metadata/app', {
      data: { max_versions: 4, cas_required: true, delete_version_after: '1h', custom_metadata: { owner: 'jdoe', n: 5 } },
    });
    assert.equal(written, null);
    assert.equal(await kv.writeKind('metadata/app'), 'update');

    const meta = await readMeta(kv, 'app');
    assert.equal(meta.current_version, 0);
    assert.deepEqual(meta.versions, {});
    assert.equal(meta.max_versions, 4);
    assert.equal(meta.cas_required, true);
    assert.equal(meta.delete_version_after, '1h0m0s');
    assert.deepEqual(meta.custom_metadata, { owner: 'jdoe', n: '5' });
    assert.match(String(meta.created_time), RFC3339);
    assert.deepEqual(await kv.request('read', 'data/app'), { status: 404, data: null });
  });

  test('write with no settings creates nothing', async () => {
    const kv = await mountV2();
    assert.equal(await kv.request('update', 'metadata/app', { data: {} }), null);
    assert.deepEqual(await kv.request('read', 'metadata/app'), { status: 404, data: null });
  });

  test('write keeps unset settings', async () => {
    const kv = await mountV2();
    await kv.request('update', 'metadata/app', { data: { max_versions: 4, custom_metadata: { a: 'b' } } });
    await kv.request('update', 'metadata/app', { data: { cas_required: true } });
    const meta = await readMeta(kv, 'app');
    assert.equal(meta.max_versions, 4);
    assert.equal(meta.cas_required, true);
    assert.deepEqual(meta.custom_metadata, { a: 'b' });
    // A new custom_metadata replaces the old one whole.
    await kv.request('update', 'metadata/app', { data: { custom_metadata: { c: 'd' } } });
    assert.deepEqual((await readMeta(kv, 'app')).custom_metadata, { c: 'd' });
  });

  test('warns when the mount mandates cas', async () => {
    const kv = await mountV2();
    await kv.request('update', 'config', { data: { cas_required: true } });
    const written = await kv.request('update', 'metadata/app', { data: { cas_required: false } });
    assert.equal(written?.warnings?.length, 1);
    assert.match(String(written?.warnings?.[0]), /cas_required/);
  });

  test('custom_metadata limits', async () => {
    const kv = await mountV2();
    const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    const atLimit = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, 'v']));
    const bad: Array<[string, unknown]> = [
      ['65 keys', tooMany],
      ['empty key', { '': 'v' }],
      ['long key', { ['k'.repeat(129)]: 'v' }],
      ['empty value', { k: '' }],
      ['long value', { k: 'v'.repeat(513) }],
      ['multibyte value over 512 bytes', { k: 'é'.repeat(257) }],
      ['unprintable key', { 'a\u0007': 'v' }],
      ['unprintable value', { k: 'line\nbreak' }],
      ['object value', { k: { nested: 'x' } }],
      ['null value', { k: null }],
      ['not an object', 'owner=jdoe'],
    ];
    for (const [name, customMetadata] of bad) {
      await assert.rejects(
        kv.request('update', 'metadata/app', { data: { custom_metadata: customMetadata } }),
        BadRequestError,
        name,
      );
    }
    assert.deepEqual(await kv.request('read', 'metadata/app'), { status: 404, data: null });

    const ok = { ...atLimit, k0: 'v'.repeat(512), ['x'.repeat(128)]: 'ü' };
    delete (ok as Record<string, string>).k1;
    await kv.request('update', 'metadata/app', { data: { custom_metadata: ok } });
    assert.equal(Object.keys((await readMeta(kv, 'app')).custom_metadata as object).length, 64);
  });

  test('bad settings are rejected', async () => {
    const kv = await mountV2();
    await assert.rejects(kv.request('update', 'metadata/app', { data: { max_versions: -2 } }), BadRequestError);
    await assert.rejects(kv.request('update', 'metadata/app', { data: { delete_version_after: '-1s' } }), BadRequestError);
    const ignored = await kv.request('update', 'metadata/app', { data: { versions: [1] } });
    assert.deepEqual(ignored?.warnings, ['ignored unrecognized parameters: versions']);
    await assert.rejects(kv.request('update', 'metadata/', { data: { max_versions: 1 } }), /missing path/);
  });

  test('patch merges settings and custom_metadata', async () => {
    const kv = await mountV2();
    await put(kv, 'app', { v: 1 });
    await kv.request('update', 'metadata/app', {
      data: { max_versions: 4, delete_version_after: '1h', custom_metadata: { keep: 'k', drop: 'd', change: 'old' } },
    });
    const patched = await kv.request('patch', 'metadata/app', {
      data: { max_versions: 7, custom_metadata: { drop: null, change: 'new', add: 'a' } },
    });
    assert.equal(patched, null);

    const meta = await readMeta(kv, 'app');
    assert.equal(meta.max_versions, 7);
    assert.equal(meta.delete_version_after, '1h0m0s');
    assert.equal(meta.current_version, 1);
    assert.deepEqual(meta.custom_metadata, { keep: 'k', change: 'new', add: 'a' });
  });

  test('patch null resets a setting', async () => {
    const kv = await mountV2();
    await kv.request('update', 'metadata/app', { data: { max_versions: 4, custom_metadata: { a: 'b' } } });
    await kv.request('patch', 'metadata/app', { data: { max_versions: null, custom_metadata: null } });
    const meta = await readMeta(kv, 'app');
    assert.equal(meta.max_versions, 0);
    assert.equal(meta.custom_metadata, null);
  });

  test('patch needs an existing key', async () => {
    const kv = await mountV2();
    assert.deepEqual(await kv.request('patch', 'metadata/none', { data: { max_versions: 2 } }), {
      status: 404,
      data: null,
    });
    assert.deepEqual(await kv.request('read', 'metadata/none'), { status: 404, data: null });
  });

  test('patch checks the merged custom_metadata', async () => {
    const kv = await mountV2();
    const full = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, 'v']));
    await kv.request('update', 'metadata/app', { data: { custom_metadata: full } });
    const before = await snapshot(kv.storage);
    await assert.rejects(kv.request('patch', 'metadata/app', { data: { custom_metadata: { extra: 'x' } } }), BadRequestError);
    await assert.rejects(kv.request('patch', 'metadata/app', { data: { custom_metadata: { k0: '' } } }), BadRequestError);
    await assert.rejects(kv.request('patch', 'metadata/app', { data: { custom_metadata: ['x'] } }), BadRequestError);
    assert.deepEqual(await snapshot(kv.storage), before);
  });

  test('delete removes every version', async () => {
    const kv = await mountV2();
    await put(kv, 'app', { v: 1 });
    await put(kv, 'app', { v: 2 });
    await put(kv, 'other', { v: 1 });
    assert.equal(await kv.request('delete', 'metadata/app'), null);

    assert.deepEqual(await kv.request('read', 'metadata/app'), { status: 404, data: null });
    assert.deepEqual(await kv.request('read', 'data/app', { query: { version: '1' } }), { status: 404, data: null });
    const keys = [...(await snapshot(kv.storage)).keys()];
    assert.deepEqual(keys.filter((k) => k.startsWith('versions/')).length, 1);
    assert.ok(keys.includes('metadata/other'));

    // A new write starts again at version 1.
    assert.equal((await put(kv, 'app', { v: 3 }))?.data?.version, 1);
    assert.equal(await kv.request('delete', 'metadata/none'), null);
  });

  test('list shows keys and folders', async () => {
    const kv = await mountV2();
    for (const path of ['foo', 'foo/bar', 'foo/baz/qux', 'zed']) await put(kv, path, { v: 1 });
    assert.deepEqual(await kv.request('list', 'metadata/'), { data: { keys: ['foo', 'foo/', 'zed'] } });
    assert.deepEqual(await kv.request('list', 'metadata'), { data: { keys: ['foo', 'foo/', 'zed'] } });
    assert.deepEqual(await kv.request('list', 'metadata/foo/'), { data: { keys: ['bar', 'baz/'] } });
    assert.deepEqual(await kv.request('list', 'metadata/foo'), { data: { keys: ['bar', 'baz/'] } });
    assert.deepEqual(await kv.request('list', 'metadata/none/'), { status: 404, data: null });
  });

  test('list includes keys with only metadata', async () => {
    const kv = await mountV2();
    await kv.request('update', 'metadata/dir/empty', { data: { max_versions: 1 } });
    assert.deepEqual(await kv.request('list', 'metadata/dir/'), { data: { keys: ['empty'] } });
  });

  test('list pages with after and limit', async () => {
    const kv = await mountV2();
    for (let i = 0; i < 120; i++) await put(kv, `many/k${String(i).padStart(3, '0')}`, { i });

    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const query: Record<string, string> = { limit: '50' };
      if (after !== undefined) query.after = after;
      const page = await kv.request('list', 'metadata/many/', { query });
      if (page?.status === 404) break;
      const keys = (page?.data as { keys: string[] }).keys;
      assert.ok(keys.length <= 50);
      seen.push(...keys);
      after = keys[keys.length - 1];
    }
    assert.equal(seen.length, 120);
    assert.equal(seen[0], 'k000');
    assert.equal(seen[119], 'k119');
    await assert.rejects(kv.request('list', 'metadata/many/', { query: { limit: '0' } }), BadRequestError);
    await assert.rejects(kv.request('list', 'metadata/many/', { query: { limit: 'ten' } }), BadRequestError);
  });
});
