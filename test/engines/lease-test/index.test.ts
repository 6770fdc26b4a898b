import assert from 'node:assert/strict';
import { test } from 'node:test';
import { leaseTestBackend } from '../../../src/engines/lease-test/index.js';
import type { BackendContext, LogicalRequest } from '../../../src/framework/types.js';
import { api, startDevServer } from '../../helpers/server.js';

test('lease-test is not mountable by default', { skip: process.env.COFFER_ENABLE_TEST_ENGINES === '1' ? 'COFFER_ENABLE_TEST_ENGINES=1 is set' : false }, async () => {
  const server = await startDevServer();
  try {
    const response = await api(server.url, 'POST', 'sys/mounts/lease-bench', { token: 'root', body: { type: 'lease-test' } });
    assert.equal(response.status, 400);
    assert.match(JSON.stringify(response.body), /plugin not found in the catalog: lease-test/);
  } finally {
    await server.close();
  }
});

test('creds read returns a test secret', async () => {
  const backend = await leaseTestBackend({} as BackendContext);
  const read = backend.paths[0].operations.read!;
  const response = await read({ req: {} as LogicalRequest, fields: { name: 'app', ttl: 90, max_ttl: 600 }, params: { name: 'app' }, backend: {} as BackendContext });

  assert.equal(typeof response?.data?.value, 'string');
  assert.deepEqual(response?.secret, { type: 'test', ttl: 90, maxTtl: 600, renewable: true, internalData: { name: 'app' } });
  assert.ok(backend.secretTypes?.test.renew, 'the test secret type cannot renew');
  assert.equal(new RegExp(`^${backend.paths[0].pattern}$`).exec('creds/a/b')?.groups?.name, 'a/b');
});
