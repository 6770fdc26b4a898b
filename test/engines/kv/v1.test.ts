import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BadRequestError, UnsupportedOperationError } from '../../../src/errors.js';
import { kvBackend } from '../../../src/engines/kv/index.js';
import { mountKv } from './harness.js';

describe('kv v1', () => {
  test('write then read returns the body', async () => {
    const kv = await mountKv();
    const written = await kv.request('update', 'app/db', { data: { user: 'admin', port: 5432, nested: { a: [1, 2] } } });
    assert.equal(written, null);

    const read = await kv.request('read', 'app/db');
    assert.deepEqual(read, { data: { user: 'admin', port: 5432, nested: { a: [1, 2] } } });
  });

  test('version option "1" selects v1', async () => {
    const kv = await mountKv({ version: '1' });
    await kv.request('update', 'x', { data: { a: 'b' } });
    assert.deepEqual(await kv.request('read', 'x'), { data: { a: 'b' } });
  });

  test('unknown version option is rejected', async () => {
    const kv = await mountKv();
    assert.throws(() => kvBackend({ ...kv.context, options: { version: '3' } }), BadRequestError);
  });

  test('write replaces the whole secret', async () => {
    const kv = await mountKv();
    await kv.request('update', 'k', { data: { a: '1', b: '2' } });
    await kv.request('update', 'k', { data: { c: '3' } });
    assert.deepEqual(await kv.request('read', 'k'), { data: { c: '3' } });
  });

  test('a body field named path is kept', async () => {
    const kv = await mountKv();
    await kv.request('update', 'k', { data: { path: '/etc/x' } });
    assert.deepEqual(await kv.request('read', 'k'), { data: { path: '/etc/x' } });
  });

  test('missing secret reads as 404', async () => {
    const kv = await mountKv();
    assert.deepEqual(await kv.request('read', 'nope'), { status: 404, data: null });
    assert.deepEqual(await kv.request('read', ''), { status: 404, data: null });
    assert.deepEqual(await kv.request('read', 'folder/'), { status: 404, data: null });
  });

  test('existence check decides create or update', async () => {
    const kv = await mountKv();
    assert.equal(await kv.writeKind('k'), 'create');
    await kv.request('update', 'k', { data: { a: 1 } });
    assert.equal(await kv.writeKind('k'), 'update');
    assert.equal(await kv.writeKind('k/'), 'create');
  });

  test('delete removes the secret', async () => {
    const kv = await mountKv();
    await kv.request('update', 'k', { data: { a: 1 } });
    assert.equal(await kv.request('delete', 'k'), null);
    assert.deepEqual(await kv.request('read', 'k'), { status: 404, data: null });
    // Deleting again is not an error.
    assert.equal(await kv.request('delete', 'k'), null);
  });

  test('empty body is rejected', async () => {
    const kv = await mountKv();
    await assert.rejects(kv.request('update', 'k', { data: {} }), BadRequestError);
    assert.deepEqual(await kv.request('read', 'k'), { status: 404, data: null });
  });

  test('bad secret names are rejected', async () => {
    const kv = await mountKv();
    await assert.rejects(kv.request('update', '', { data: { a: 1 } }), /missing path/);
    await assert.rejects(kv.request('update', 'folder/', { data: { a: 1 } }), /cannot end in "\/"/);
  });

  test('patch is unsupported', async () => {
    const kv = await mountKv();
    await kv.request('update', 'k', { data: { a: 1 } });
    await assert.rejects(kv.request('patch', 'k', { data: { a: 2 } }), UnsupportedOperationError);
  });

  test('list shows children and folders', async () => {
    const kv = await mountKv();
    for (const path of ['foo', 'foo/bar', 'foo/baz/qux', 'zed']) {
      await kv.request('update', path, { data: { v: path } });
    }
    assert.deepEqual(await kv.request('list', ''), { data: { keys: ['foo', 'foo/', 'zed'] } });
    assert.deepEqual(await kv.request('list', 'foo/'), { data: { keys: ['bar', 'baz/'] } });
    // Without the trailing slash the path is still listed as a folder.
    assert.deepEqual(await kv.request('list', 'foo'), { data: { keys: ['bar', 'baz/'] } });
  });

  test('empty list answers 404', async () => {
    const kv = await mountKv();
    assert.deepEqual(await kv.request('list', ''), { status: 404, data: null });
    assert.deepEqual(await kv.request('list', 'none/'), { status: 404, data: null });
  });

  test('list pages with after and limit', async () => {
    const kv = await mountKv();
    for (const name of ['a', 'b', 'c', 'd', 'e']) await kv.request('update', `p/${name}`, { data: { v: 1 } });

    assert.deepEqual(await kv.request('list', 'p/', { query: { limit: '2' } }), { data: { keys: ['a', 'b'] } });
    assert.deepEqual(await kv.request('list', 'p/', { query: { after: 'b', limit: '2' } }), {
      data: { keys: ['c', 'd'] },
    });
    assert.deepEqual(await kv.request('list', 'p/', { query: { after: 'd' } }), { data: { keys: ['e'] } });
    assert.deepEqual(await kv.request('list', 'p/', { query: { after: 'e' } }), { status: 404, data: null });
  });

  test('list rejects bad limits', async () => {
    const kv = await mountKv();
    await kv.request('update', 'p/a', { data: { v: 1 } });
    for (const limit of ['0', '-1', 'abc', '1.5', '99999999999999999999']) {
      await assert.rejects(kv.request('list', 'p/', { query: { limit } }), BadRequestError, `limit ${limit}`);
    }
  });
});
