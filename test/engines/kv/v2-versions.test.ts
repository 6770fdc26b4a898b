import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BadRequestError } from '../../../src/errors.js';
import { mountKv, snapshot, type KvHarness } from './harness.js';

async function mountWithVersions(count: number): Promise<KvHarness> {
  const kv = await mountKv({ version: '2' });
  for (let v = 1; v <= count; v++) await kv.request('update', 'data/app', { data: { data: { v } } });
  return kv;
}

async function readVersion(kv: KvHarness, version: number) {
  const response = await kv.request('read', 'data/app', { query: { version: String(version) } });
  const body = response?.data as { data: unknown; metadata: Record<string, unknown> } | null;
  return { status: response?.status ?? 200, data: body?.data, metadata: body?.metadata };
}

describe('kv v2 delete versions', () => {
  test('soft-deletes the listed versions', async () => {
    const kv = await mountWithVersions(3);
    assert.equal(await kv.request('update', 'delete/app', { data: { versions: [1, 3] } }), null);

    for (const version of [1, 3]) {
      const read = await readVersion(kv, version);
      assert.equal(read.status, 404, `version ${version}`);
      assert.equal(read.data, null);
      assert.notEqual(read.metadata?.deletion_time, '');
      assert.equal(read.metadata?.destroyed, false);
    }
    assert.deepEqual((await readVersion(kv, 2)).data, { v: 2 });
  });

  test('accepts comma-separated and string versions', async () => {
    const kv = await mountWithVersions(3);
    await kv.request('update', 'delete/app', { data: { versions: '1,2' } });
    await kv.request('update', 'delete/app', { data: { versions: ['3'] } });
    for (const version of [1, 2, 3]) assert.equal((await readVersion(kv, version)).status, 404);
  });

  test('keeps the first deletion time', async () => {
    const kv = await mountWithVersions(1);
    await kv.request('update', 'delete/app', { data: { versions: [1] } });
    const first = (await readVersion(kv, 1)).metadata?.deletion_time;
    await new Promise((resolve) => setTimeout(resolve, 5));
    await kv.request('update', 'delete/app', { data: { versions: [1] } });
    assert.equal((await readVersion(kv, 1)).metadata?.deletion_time, first);
  });

  test('skips missing versions and keys', async () => {
    const kv = await mountWithVersions(1);
    const before = await snapshot(kv.storage);
    assert.equal(await kv.request('update', 'delete/app', { data: { versions: [9] } }), null);
    assert.equal(await kv.request('update', 'delete/none', { data: { versions: [1] } }), null);
    assert.deepEqual(await snapshot(kv.storage), before);
  });

  test('rejects bad version lists', async () => {
    const kv = await mountWithVersions(2);
    const before = await snapshot(kv.storage);
    const bad: unknown[] = [undefined, [], '', [0], [-1], ['x'], [1.5], '1,x', { v: 1 }, [1, 'two']];
    for (const versions of bad) {
      const data = versions === undefined ? {} : { versions };
      for (const path of ['delete/app', 'undelete/app', 'destroy/app']) {
        await assert.rejects(kv.request('update', path, { data }), BadRequestError, `${path} ${JSON.stringify(versions)}`);
      }
    }
    const ignored = await kv.request('update', 'delete/none', { data: { versions: [1], extra: true } });
    assert.deepEqual(ignored?.warnings, ['ignored unrecognized parameters: extra']);
    assert.deepEqual(await snapshot(kv.storage), before);
  });
});

describe('kv v2 undelete', () => {
  test('restores soft-deleted versions', async () => {
    const kv = await mountWithVersions(2);
    await kv.request('delete', 'data/app');
    await kv.request('update', 'delete/app', { data: { versions: [1] } });
    assert.equal(await kv.request('update', 'undelete/app', { data: { versions: [1, 2] } }), null);

    for (const version of [1, 2]) {
      const read = await readVersion(kv, version);
      assert.equal(read.status, 200);
      assert.deepEqual(read.data, { v: version });
      assert.equal(read.metadata?.deletion_time, '');
    }
  });

  test('cannot restore a destroyed version', async () => {
    const kv = await mountWithVersions(1);
    await kv.request('update', 'destroy/app', { data: { versions: [1] } });
    await kv.request('update', 'undelete/app', { data: { versions: [1] } });
    const read = await readVersion(kv, 1);
    assert.equal(read.status, 404);
    assert.equal(read.metadata?.destroyed, true);
  });
});

describe('kv v2 destroy', () => {
  test('removes version data for good', async () => {
    const kv = await mountWithVersions(2);
    assert.equal(await kv.request('update', 'destroy/app', { data: { versions: [1] } }), null);

    const read = await readVersion(kv, 1);
    assert.equal(read.status, 404);
    assert.equal(read.data, null);
    assert.equal(read.metadata?.destroyed, true);
    assert.equal(read.metadata?.deletion_time, '');
    assert.deepEqual((await readVersion(kv, 2)).data, { v: 2 });

    const meta = await kv.request('read', 'metadata/app');
    const versions = (meta?.data as { versions: Record<string, { destroyed: boolean }> }).versions;
    assert.equal(versions['1'].destroyed, true);
    assert.equal(versions['2'].destroyed, false);

    const keys = [...(await snapshot(kv.storage)).keys()];
    assert.equal(keys.filter((k) => k.startsWith('versions/')).length, 1);
  });

  test('destroys a soft-deleted version', async () => {
    const kv = await mountWithVersions(1);
    await kv.request('delete', 'data/app');
    await kv.request('update', 'destroy/app', { data: { versions: [1] } });
    const read = await readVersion(kv, 1);
    assert.equal(read.metadata?.destroyed, true);
    assert.notEqual(read.metadata?.deletion_time, '');
  });

  test('soft delete of a destroyed latest is a no-op', async () => {
    const kv = await mountWithVersions(1);
    await kv.request('update', 'destroy/app', { data: { versions: [1] } });
    const before = await snapshot(kv.storage);
    assert.equal(await kv.request('delete', 'data/app'), null);
    assert.deepEqual(await snapshot(kv.storage), before);
  });
});
