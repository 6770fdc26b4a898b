import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, startDevServer } from '../helpers/server.js';

// A token created with num_uses = N must serve at most N requests, whether or not they succeed and
// however many arrive at once. Vault's token docs (internals/token) say the count drops on each
// request, and Coffer already counts a denied request as a use except for the last one.

describe('token num_uses', () => {
  let server: Awaited<ReturnType<typeof startDevServer>>;

  before(async () => {
    server = await startDevServer();
    const write = await api(server.url, 'POST', 'secret/data/app', { token: 'root', body: { data: { password: 'p' } } });
    assert.equal(write.status, 200);
  });

  after(async () => {
    await server.close();
  });

  async function createToken(body: Record<string, unknown>): Promise<string> {
    const created = await api(server.url, 'POST', 'auth/token/create', { token: 'root', body });
    assert.equal(created.status, 200);
    return created.body.auth.client_token;
  }

  test('sequential uses stop at the limit', async () => {
    const token = await createToken({ num_uses: 2, policies: ['default'] });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await api(server.url, 'GET', 'auth/token/lookup-self', { token })).status);
    assert.deepEqual(statuses, [200, 200, 403]);
  });

  test('concurrent requests cannot exceed num_uses', async () => {
    const token = await createToken({ num_uses: 1, policies: ['root'] });
    const statuses = await Promise.all(
      Array.from({ length: 10 }, () => api(server.url, 'GET', 'secret/data/app', { token }).then((r) => r.status)),
    );
    const succeeded = statuses.filter((status) => status === 200).length;
    assert.equal(succeeded, 1, `statuses: ${statuses.join(',')}`);
  });

  test('a denied request uses up the last use', async () => {
    const token = await createToken({ num_uses: 1, policies: ['default'] });
    const denied = await api(server.url, 'GET', 'secret/data/app', { token });
    assert.equal(denied.status, 403);

    const after = await api(server.url, 'GET', 'auth/token/lookup-self', { token });
    assert.equal(after.status, 403);
  });
});
