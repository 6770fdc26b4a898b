import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { api, startDevServer } from '../../helpers/server.js';

describe('auth/token/tidy', () => {
  let server: Awaited<ReturnType<typeof startDevServer>>;
  before(async () => {
    server = await startDevServer();
  });
  after(() => server.close());

  it('removes accessors of tokens that no longer exist', async () => {
    const auth = (await api(server.url, 'POST', 'auth/token/create', { token: 'root', body: { policies: ['default'] } })).body.auth;
    const id = server.core.tokens.hashToken(auth.client_token);
    // Simulate a crash that deleted the token entry but left its accessor behind.
    await server.core.barrier.delete(`sys/token/id/${id}`);
    const listed = async () => ((await api(server.url, 'LIST', 'auth/token/accessors', { token: 'root' })).body.data.keys as string[]);
    assert.ok((await listed()).includes(auth.accessor));

    const response = await api(server.url, 'POST', 'auth/token/tidy', { token: 'root' });
    assert.equal(response.status, 202);
    let remaining = await listed();
    for (let attempt = 0; attempt < 50 && remaining.includes(auth.accessor); attempt++) {
      await sleep(50);
      remaining = await listed();
    }
    assert.ok(!remaining.includes(auth.accessor), 'the dangling accessor is still listed');
  });
});
