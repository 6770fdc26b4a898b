import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, startDevServer } from '../helpers/server.js';

// Deeply nested JSON is bad input, so it must get a 400, and no secret that a write accepted may
// become unreadable later. On Node 20 the recursive JSON.stringify and audit hashing overflow the
// stack at a few thousand levels (measured with this server: 2000 levels fail under audit).

/** Builds a request body whose secret is `depth` nested arrays. */
function nestedBody(depth: number): string {
  return `{"data":{"deep":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
}

describe('nested JSON bodies', () => {
  let server: Awaited<ReturnType<typeof startDevServer>>;

  before(async () => {
    server = await startDevServer();
  });

  after(async () => {
    await server.close();
  });

  test('very deep body gets 400', async () => {
    const write = await api(server.url, 'POST', 'secret/data/deep', { token: 'root', body: nestedBody(100_000) });
    assert.equal(write.status, 400);

    const health = await api(server.url, 'GET', 'sys/health');
    assert.equal(health.status, 200);
  });

  test('stored nested secret stays readable under audit', async () => {
    const write = await api(server.url, 'POST', 'secret/data/nested', { token: 'root', body: nestedBody(3000) });
    assert.ok(write.status === 200 || write.status === 400, `write answered ${write.status}`);
    if (write.status !== 200) return;

    const enabled = await api(server.url, 'PUT', 'sys/audit/discard', {
      token: 'root',
      body: { type: 'file', options: { file_path: 'discard' } },
    });
    assert.equal(enabled.status, 204);

    const read = await api(server.url, 'GET', 'secret/data/nested', { token: 'root' });
    assert.equal(read.status, 200);
  });
});
