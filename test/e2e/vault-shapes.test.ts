import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, startDevServer } from '../helpers/server.js';

// Status codes and bodies that Vault clients and load balancers depend on, checked over HTTP.

describe('vault response shapes', () => {
  let server: Awaited<ReturnType<typeof startDevServer>>;

  before(async () => {
    server = await startDevServer();
  });

  after(async () => {
    await server.close();
  });

  test('kv v2 read of a missing key', async () => {
    const read = await api(server.url, 'GET', 'secret/data/never-written', { token: 'root' });
    assert.equal(read.status, 404);
    assert.deepEqual(read.body, { errors: [] });
  });

  test('kv v1 read of a missing key', async () => {
    const mounted = await api(server.url, 'POST', 'sys/mounts/kv1', { token: 'root', body: { type: 'kv', options: { version: '1' } } });
    assert.equal(mounted.status, 204);

    const read = await api(server.url, 'GET', 'kv1/never-written', { token: 'root' });
    assert.equal(read.status, 404);
    assert.deepEqual(read.body, { errors: [] });
  });

  test('kv v2 list of an empty folder', async () => {
    const listed = await api(server.url, 'LIST', 'secret/metadata/empty-folder/', { token: 'root' });
    assert.equal(listed.status, 404);
    assert.deepEqual(listed.body, { errors: [] });
  });

  test('HEAD sys/health returns the status', async () => {
    const response = await fetch(`${server.url}/v1/sys/health`, { method: 'HEAD' });
    assert.equal(response.status, 200);

    const custom = await fetch(`${server.url}/v1/sys/health?activecode=299`, { method: 'HEAD' });
    assert.equal(custom.status, 299);
  });
});
