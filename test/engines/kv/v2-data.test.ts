import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BadRequestError, CheckAndSetError } from '../../../src/errors.js';
import { mountKv, sleep, snapshot, type KvHarness } from './harness.js';

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

function mountV2(): Promise<KvHarness> {
  return mountKv({ version: '2' });
}

async function put(kv: KvHarness, path: string, data: Record<string, unknown>, options?: Record<string, unknown>) {
  const body: Record<string, unknown> = { data };
  if (options) body.options = options;
  return kv.request('update', `data/${path}`, { data: body });
}

describe('kv v2 data', () => {
  test('write answers version metadata', async () => {
    const kv = await mountV2();
    const written = await put(kv, 'app', { password: 'hunter2' });
    assert.ok(written?.data);
    const data = written.data;
    assert.deepEqual(Object.keys(data).sort(), ['created_time', 'custom_metadata', 'deletion_time', 'destroyed', 'version']);
    assert.match(String(data.created_time), RFC3339);
    assert.equal(data.custom_metadata, null);
    assert.equal(data.deletion_time, '');
    assert.equal(data.destroyed, false);
    assert.equal(data.version, 1);
  });

  test('read returns data and metadata', async () => {
    const kv = await mountV2();
    const written = await put(kv, 'app', { password: 'hunter2', n: { deep: true } });
    const read = await kv.request('read', 'data/app');
    assert.deepEqual(read, { data: { data: { password: 'hunter2', n: { deep: true } }, metadata: written?.data } });
  });

  test('each write adds a version', async () => {
    const kv = await mountV2();
    await put(kv, 'app', { v: 1 });
    await put(kv, 'app', { v: 2 });
    const third = await put(kv, 'app', { v: 3 });
    assert.equal(third?.data?.version, 3);

    const latest = await kv.request('read', 'data/app');
    assert.deepEqual((latest?.data as { data: unknown }).data, { v: 3 });
    const first = await kv.request('read', 'data/app', { query: { version: '1' } });
    assert.deepEqual((first?.data as { data: unknown }).data, { v: 1 });
    assert.equal((first?.data as { metadata: { version: number } }).metadata.version, 1);
    const zero = await kv.request('read', 'data/app', { query: { version: '0' } });
    assert.deepEqual((zero?.data as { data: unknown }).data, { v: 3 });
  });

  test('missing key or version reads as 404', async () => {
    const kv = await mountV2();
    assert.deepEqual(await kv.request('read', 'data/nope'), { status: 404, data: null });
    await put(kv, 'app', { v: 1 });
    assert.deepEqual(await kv.request('read', 'data/app', { query: { version: '7' } }), { status: 404, data: null });
    assert.deepEqual(await kv.request('read', 'data/'), { status: 404, data: null });
  });

  test('bad version numbers are rejected', async () => {
    const kv = await mountV2();
    await put(kv, 'app', { v: 1 });
    for (const version of ['abc', '-1', '1.5']) {
      await assert.rejects(kv.request('read', 'data/app', { query: { version } }), BadRequestError, version);
    }
  });

  test('data must be an object', async () => {
    const kv = await mountV2();
    for (const data of ['text', 42, [1, 2], true]) {
      await assert.rejects(kv.request('update', 'data/app', { data: { data } }), BadRequestError, JSON.stringify(data));
    }
    await assert.rejects(kv.request('update', 'data/app', { data: {} }), /no data provided/);
    const ignored = await kv.request('update', 'data/other', { data: { data: { a: 1 }, extra: 1 } });
    assert.deepEqual(ignored?.warnings, ['ignored unrecognized parameters: extra']);
    assert.deepEqual(await kv.request('read', 'data/app'), { status: 404, data: null });
  });

  test('bad secret names are rejected', async () => {
    const kv = await mountV2();
    await assert.rejects(put(kv, '', { a: 1 }), /missing path/);
    await assert.rejects(put(kv, 'dir/', { a: 1 }), /cannot end in "\/"/);
  });

  test('existence check follows metadata', async () => {
    const kv = await mountV2();
    assert.equal(await kv.writeKind('data/app'), 'create');
    await put(kv, 'app', { v: 1 });
    assert.equal(await kv.writeKind('data/app'), 'update');
  });

  test('cas 0 creates only', async () => {
    const kv = await mountV2();
    const created = await put(kv, 'app', { v: 1 }, { cas: 0 });
    assert.equal(created?.data?.version, 1);
    await assert.rejects(put(kv, 'app', { v: 2 }, { cas: 0 }), CheckAndSetError);
  });

  test('cas matching the current version writes', async () => {
    const kv = await mountV2();
    await put(kv, 'app', { v: 1 });
    const second = await put(kv, 'app', { v: 2 }, { cas: 1 });
    assert.equal(second?.data?.version, 2);
    const third = await put(kv, 'app', { v: 3 }, { cas: '2' });
    assert.equal(third?.data?.version, 3);
  });

  test('cas mismatch fails with the Vault message', async () => {
    const kv = await mountV2();
    await put(kv, 'app', { v: 1 });
    await put(kv, 'app', { v: 2 });
    const before = await snapshot(kv.storage);

    await assert.rejects(put(kv, 'app', { v: 3 }, { cas: 1 }), (err: unknown) => {
      assert.ok(err instanceof CheckAndSetError);
      assert.equal(err.status, 400);
      assert.match(err.message, /check-and-set parameter did not match the current version/);
      return true;
    });
    await assert.rejects(put(kv, 'new', { v: 1 }, { cas: 3 }), CheckAndSetError);
    assert.deepEqual(await snapshot(kv.storage), before);
  });

  test('invalid cas values are rejected', async () => {
    const kv = await mountV2();
    for (const cas of [-1, 1.5, 'one', true, { n: 1 }]) {
      await assert.rejects(put(kv, 'app', { v: 1 }, { cas }), BadRequestError, JSON.stringify(cas));
    }
    assert.deepEqual(await kv.request('read', 'data/app'), { status: 404, data: null });
  });

  test('cas_required on the mount', async () => {
    const kv = await mountV2();
    await kv.request('update', 'config', { data: { cas_required: true } });
    await assert.rejects(put(kv, 'app', { v: 1 }), /check-and-set parameter required/);
    assert.equal((await put(kv, 'app', { v: 1 }, { cas: 0 }))?.data?.version, 1);
    await assert.rejects(put(kv, 'app', { v: 2 }), BadRequestError);
    assert.equal((await put(kv, 'app', { v: 2 }, { cas: 1 }))?.data?.version, 2);
  });

  test('cas_required on the key', async () => {
    const kv = await mountV2();
    await put(kv, 'app', { v: 1 });
    await kv.request('update', 'metadata/app', { data: { cas_required: true } });
    await assert.rejects(put(kv, 'app', { v: 2 }), /check-and-set parameter required/);
    await assert.rejects(kv.request('patch', 'data/app', { data: { data: { v: 2 } } }), /check-and-set parameter required/);
    assert.equal((await put(kv, 'app', { v: 2 }, { cas: 1 }))?.data?.version, 2);
    // Another key is not affected.
    assert.equal((await put(kv, 'other', { v: 1 }))?.data?.version, 1);
  });

  test('max_versions prunes the oldest versions', async () => {
    const kv = await mountV2();
    await kv.request('update', 'metadata/app', { data: { max_versions: 2 } });
    for (let v = 1; v <= 4; v++) await put(kv, 'app', { v });

    const meta = await kv.request('read', 'metadata/app');
    const data = meta?.data as { versions: Record<string, unknown>; oldest_version: number; current_version: number };
    assert.deepEqual(Object.keys(data.versions), ['3', '4']);
    assert.equal(data.oldest_version, 3);
    assert.equal(data.current_version, 4);
    assert.deepEqual(await kv.request('read', 'data/app', { query: { version: '1' } }), { status: 404, data: null });
    assert.deepEqual(await kv.request('read', 'data/app', { query: { version: '2' } }), { status: 404, data: null });
    const third = await kv.request('read', 'data/app', { query: { version: '3' } });
    assert.deepEqual((third?.data as { data: unknown }).data, { v: 3 });

    // Pruned version data is gone from storage too: 2 versions, 1 metadata entry.
    const keys = [...(await snapshot(kv.storage)).keys()];
    assert.equal(keys.filter((k) => k.startsWith('versions/')).length, 2);
  });

  test('mount max_versions applies without a key setting', async () => {
    const kv = await mountV2();
    await kv.request('update', 'config', { data: { max_versions: 3 } });
    for (let v = 1; v <= 5; v++) await put(kv, 'app', { v });
    const meta = await kv.request('read', 'metadata/app');
    assert.deepEqual(Object.keys((meta?.data as { versions: object }).versions), ['3', '4', '5']);
  });

  test('default keeps ten versions', async () => {
    const kv = await mountV2();
    for (let v = 1; v <= 12; v++) await put(kv, 'app', { v });
    const meta = await kv.request('read', 'metadata/app');
    const versions = Object.keys((meta?.data as { versions: object }).versions);
    assert.equal(versions.length, 10);
    assert.equal(versions[0], '3');
  });

  test('delete removes the latest version softly', async () => {
    const kv = await mountV2();
    await put(kv, 'app', { v: 1 });
    await put(kv, 'app', { v: 2 });
    assert.equal(await kv.request('delete', 'data/app'), null);

    const read = await kv.request('read', 'data/app');
    assert.equal(read?.status, 404);
    const body = read?.data as { data: unknown; metadata: Record<string, unknown> };
    assert.equal(body.data, null);
    assert.equal(body.metadata.version, 2);
    assert.match(String(body.metadata.deletion_time), RFC3339);
    assert.equal(body.metadata.destroyed, false);

    // The earlier version is still readable.
    const first = await kv.request('read', 'data/app', { query: { version: '1' } });
    assert.deepEqual((first?.data as { data: unknown }).data, { v: 1 });
    // Deleting again, or deleting a missing key, is no error.
    assert.equal(await kv.request('delete', 'data/app'), null);
    assert.equal(await kv.request('delete', 'data/none'), null);
  });

  test('write after delete adds a live version', async () => {
    const kv = await mountV2();
    await put(kv, 'app', { v: 1 });
    await kv.request('delete', 'data/app');
    assert.equal((await put(kv, 'app', { v: 2 }, { cas: 1 }))?.data?.version, 2);
    assert.deepEqual(((await kv.request('read', 'data/app'))?.data as { data: unknown }).data, { v: 2 });
  });

  test('delete_version_after schedules deletion', async () => {
    const kv = await mountV2();
    await kv.request('update', 'metadata/app', { data: { delete_version_after: '1s' } });
    const written = await put(kv, 'app', { v: 1 });
    const deletionTime = Date.parse(String(written?.data?.deletion_time));
    const createdTime = Date.parse(String(written?.data?.created_time));
    assert.equal(deletionTime - createdTime, 1000);

    const early = await kv.request('read', 'data/app');
    assert.equal(early?.status, undefined);
    assert.deepEqual((early?.data as { data: unknown }).data, { v: 1 });

    await sleep(1100);
    const late = await kv.request('read', 'data/app');
    assert.equal(late?.status, 404);
    assert.equal((late?.data as { data: unknown }).data, null);
  });

  test('shorter mount delete_version_after wins', async () => {
    const kv = await mountV2();
    await kv.request('update', 'config', { data: { delete_version_after: '1m' } });
    await kv.request('update', 'metadata/a', { data: { delete_version_after: '1h' } });
    await kv.request('update', 'metadata/b', { data: { delete_version_after: '30s' } });
    const a = await put(kv, 'a', { v: 1 });
    const b = await put(kv, 'b', { v: 1 });
    const c = await put(kv, 'c', { v: 1 });
    const after = (r: typeof a) => Date.parse(String(r?.data?.deletion_time)) - Date.parse(String(r?.data?.created_time));
    assert.equal(after(a), 60_000);
    assert.equal(after(b), 30_000);
    assert.equal(after(c), 60_000);
  });

  test('custom_metadata appears in reads and writes', async () => {
    const kv = await mountV2();
    await kv.request('update', 'metadata/app', { data: { custom_metadata: { owner: 'jdoe' } } });
    const written = await put(kv, 'app', { v: 1 });
    assert.deepEqual(written?.data?.custom_metadata, { owner: 'jdoe' });
    const read = await kv.request('read', 'data/app');
    assert.deepEqual((read?.data as { metadata: { custom_metadata: unknown } }).metadata.custom_metadata, { owner: 'jdoe' });
  });
});

describe('kv v2 patch', () => {
  test('merges per RFC 7396', async () => {
    const kv = await mountV2();
    await put(kv, 'app', { keep: 'k', drop: 'd', nested: { a: 1, b: 2 }, list: [1, 2] });
    const patched = await kv.request('patch', 'data/app', {
      data: { data: { drop: null, nested: { b: null, c: 3 }, list: [3], added: { x: { y: 'z' } } } },
    });
    assert.equal(patched?.data?.version, 2);

    const read = await kv.request('read', 'data/app');
    assert.deepEqual((read?.data as { data: unknown }).data, {
      keep: 'k',
      nested: { a: 1, c: 3 },
      list: [3],
      added: { x: { y: 'z' } },
    });
  });

  test('checks cas', async () => {
    const kv = await mountV2();
    await put(kv, 'app', { a: 1 });
    await assert.rejects(kv.request('patch', 'data/app', { data: { data: { a: 2 }, options: { cas: 0 } } }), CheckAndSetError);
    const ok = await kv.request('patch', 'data/app', { data: { data: { a: 2 }, options: { cas: 1 } } });
    assert.equal(ok?.data?.version, 2);
  });

  test('needs an existing live version', async () => {
    const kv = await mountV2();
    assert.deepEqual(await kv.request('patch', 'data/none', { data: { data: { a: 1 } } }), { status: 404, data: null });

    await put(kv, 'app', { a: 1 });
    await kv.request('delete', 'data/app');
    assert.deepEqual(await kv.request('patch', 'data/app', { data: { data: { a: 2 } } }), { status: 404, data: null });

    await put(kv, 'gone', { a: 1 });
    await kv.request('update', 'destroy/gone', { data: { versions: [1] } });
    assert.deepEqual(await kv.request('patch', 'data/gone', { data: { data: { a: 2 } } }), { status: 404, data: null });

    await kv.request('update', 'metadata/empty', { data: { max_versions: 3 } });
    assert.deepEqual(await kv.request('patch', 'data/empty', { data: { data: { a: 2 } } }), { status: 404, data: null });
  });

  test('rejects non-object data', async () => {
    const kv = await mountV2();
    await put(kv, 'app', { a: 1 });
    await assert.rejects(kv.request('patch', 'data/app', { data: { data: 'x' } }), BadRequestError);
    await assert.rejects(kv.request('patch', 'data/app', { data: {} }), /no data provided/);
    const meta = await kv.request('read', 'metadata/app');
    assert.equal((meta?.data as { current_version: number }).current_version, 1);
  });
});

describe('kv v2 subkeys', () => {
  const secret = { foo: 'abc', bar: { baz: 'def', deep: { er: 1 } }, quux: {} };

  test('replaces leaves with null', async () => {
    const kv = await mountV2();
    const written = await put(kv, 'app', secret);
    const read = await kv.request('read', 'subkeys/app');
    assert.deepEqual(read, {
      data: { subkeys: { foo: null, bar: { baz: null, deep: { er: null } }, quux: null }, metadata: written?.data },
    });
  });

  test('depth limits nesting', async () => {
    const kv = await mountV2();
    await put(kv, 'app', secret);
    const depthOne = await kv.request('read', 'subkeys/app', { query: { depth: '1' } });
    assert.deepEqual((depthOne?.data as { subkeys: unknown }).subkeys, { foo: null, bar: null, quux: null });
    const depthTwo = await kv.request('read', 'subkeys/app', { query: { depth: '2' } });
    assert.deepEqual((depthTwo?.data as { subkeys: unknown }).subkeys, { foo: null, bar: { baz: null, deep: null }, quux: null });
    await assert.rejects(kv.request('read', 'subkeys/app', { query: { depth: '-1' } }), BadRequestError);
    await assert.rejects(kv.request('read', 'subkeys/app', { query: { depth: 'x' } }), BadRequestError);
  });

  test('reads a chosen version', async () => {
    const kv = await mountV2();
    await put(kv, 'app', { first: 1 });
    await put(kv, 'app', { second: 2 });
    const read = await kv.request('read', 'subkeys/app', { query: { version: '1' } });
    assert.deepEqual((read?.data as { subkeys: unknown }).subkeys, { first: null });
    assert.equal((read?.data as { metadata: { version: number } }).metadata.version, 1);
  });

  test('deleted version answers 404 with metadata', async () => {
    const kv = await mountV2();
    await put(kv, 'app', secret);
    await kv.request('delete', 'data/app');
    const read = await kv.request('read', 'subkeys/app');
    assert.equal(read?.status, 404);
    assert.equal((read?.data as { subkeys: unknown }).subkeys, null);
    assert.equal((read?.data as { metadata: { version: number } }).metadata.version, 1);
    assert.deepEqual(await kv.request('read', 'subkeys/none'), { status: 404, data: null });
  });
});
