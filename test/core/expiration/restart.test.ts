import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { api, spawnServer, sqliteConfigFile } from '../../helpers/server.js';

async function unseal(url: string, keys: string[]): Promise<void> {
  for (const key of keys) await api(url, 'PUT', 'sys/unseal', { body: { key } });
}

test('leases across a restart: expired revoked, others kept', async () => {
  const port = 0; // the server picks a free port and prints it
  const { configPath } = sqliteConfigFile(port);
  let server = await spawnServer(['server', `-config=${configPath}`]);
  let keys: string[];
  let root: string;
  let shortLived: { client_token: string; accessor: string };
  let longLived: { client_token: string; accessor: string };
  try {
    const init = await api(server.url, 'PUT', 'sys/init', { body: { secret_shares: 1, secret_threshold: 1 } });
    keys = init.body.keys;
    root = init.body.root_token;
    await unseal(server.url, keys);
    shortLived = (await api(server.url, 'POST', 'auth/token/create', { token: root, body: { policies: ['default'], ttl: '3s' } })).body.auth;
    longLived = (await api(server.url, 'POST', 'auth/token/create', { token: root, body: { policies: ['default'], ttl: '1h' } })).body.auth;
  } finally {
    await server.stop();
  }

  // The short-lived token expires while the server is down.
  await sleep(4000);
  server = await spawnServer(['server', `-config=${configPath}`]);
  try {
    await unseal(server.url, keys);
    let remaining: string[] = [];
    for (let attempt = 0; attempt < 50; attempt++) {
      const listed = await api(server.url, 'LIST', 'auth/token/accessors', { token: root });
      remaining = listed.body?.data?.keys ?? [];
      if (!remaining.includes(shortLived.accessor)) break;
      await sleep(100);
    }
    assert.ok(!remaining.includes(shortLived.accessor), 'the expired token was not revoked after the restart');
    assert.ok(remaining.includes(longLived.accessor), 'the unexpired token was lost');
    const lookup = await api(server.url, 'GET', 'auth/token/lookup-self', { token: longLived.client_token });
    assert.equal(lookup.status, 200);
  } finally {
    await server.stop();
  }
});
