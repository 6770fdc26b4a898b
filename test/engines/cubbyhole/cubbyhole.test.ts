import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, startDevServer } from '../../helpers/server.js';

describe('cubbyhole over HTTP', () => {
  let server: Awaited<ReturnType<typeof startDevServer>>;
  let alice: string;
  let bob: string;
  before(async () => {
    server = await startDevServer();
    const create = async () => (await api(server.url, 'POST', 'auth/token/create', { token: 'root', body: { policies: ['default'] } })).body.auth.client_token as string;
    alice = await create();
    bob = await create();
  });
  after(() => server.close());

  it('writes, reads, lists and deletes per token', async () => {
    assert.equal((await api(server.url, 'POST', 'cubbyhole/app/pw', { token: alice, body: { value: 'a-secret' } })).status, 204);
    const read = await api(server.url, 'GET', 'cubbyhole/app/pw', { token: alice });
    assert.equal(read.status, 200);
    assert.deepEqual(read.body.data, { value: 'a-secret' });
    const list = await api(server.url, 'LIST', 'cubbyhole/app', { token: alice });
    assert.deepEqual(list.body.data.keys, ['pw']);
    assert.equal((await api(server.url, 'DELETE', 'cubbyhole/app/pw', { token: alice })).status, 204);
    assert.equal((await api(server.url, 'GET', 'cubbyhole/app/pw', { token: alice })).status, 404);
  });

  it('hides one token cubbyhole from another, root included', async () => {
    await api(server.url, 'POST', 'cubbyhole/mine', { token: alice, body: { v: '1' } });
    assert.equal((await api(server.url, 'GET', 'cubbyhole/mine', { token: bob })).status, 404);
    assert.equal((await api(server.url, 'GET', 'cubbyhole/mine', { token: 'root' })).status, 404);
  });

  it('is destroyed when the token is revoked', async () => {
    const token = (await api(server.url, 'POST', 'auth/token/create', { token: 'root', body: { policies: ['default'] } })).body.auth.client_token;
    await api(server.url, 'POST', 'cubbyhole/gone', { token, body: { v: '1' } });
    const id = server.core.tokens.hashToken(token);
    assert.equal((await api(server.url, 'POST', 'auth/token/revoke-self', { token })).status, 204);
    const keys = await server.core.barrier.list(`logical/${server.core.mountTable.get('cubbyhole/')!.uuid}/`);
    assert.ok(!keys.includes(`${id}/`), 'the revoked token still has cubbyhole data');
  });

  it('cannot be mounted again or unmounted', async () => {
    assert.equal((await api(server.url, 'POST', 'sys/mounts/other', { token: 'root', body: { type: 'cubbyhole' } })).status, 400);
    assert.equal((await api(server.url, 'DELETE', 'sys/mounts/cubbyhole', { token: 'root' })).status, 400);
  });
});
