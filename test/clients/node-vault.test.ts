import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import nodeVault from 'node-vault';
import { spawnServer, sqliteConfigFile } from '../helpers/server.js';

type VaultClient = ReturnType<typeof nodeVault>;

async function rejects(promise: Promise<unknown>, status: number): Promise<Error & { response?: { statusCode: number } }> {
  try {
    await promise;
  } catch (err) {
    const e = err as Error & { response?: { statusCode: number } };
    assert.equal(e.response?.statusCode, status, `expected status ${status}, got ${e.response?.statusCode}: ${e.message}`);
    return e;
  }
  assert.fail(`expected a ${status} error`);
}

test('node-vault: init, unseal, policies, KV, audit, restart', async () => {
  const port = 0; // the server picks a free port and prints it
  const { dir, configPath } = sqliteConfigFile(port);
  const auditFile = join(dir, 'audit.log');
  let server = await spawnServer(['server', `-config=${configPath}`]);
  let keys: string[];
  let rootToken: string;

  try {
    const vault: VaultClient = nodeVault({ apiVersion: 'v1', endpoint: server.url });
    const init = await vault.init({ secret_shares: 5, secret_threshold: 3 });
    keys = init.keys;
    rootToken = init.root_token;
    assert.equal(keys.length, 5);

    assert.equal((await vault.status()).sealed, true);
    for (const key of keys.slice(0, 3)) await vault.unseal({ key });
    assert.equal((await vault.status()).sealed, false);
    vault.token = rootToken;

    await vault.write('sys/audit/file', { type: 'file', options: { file_path: auditFile } });
    await vault.mount({ mount_point: 'kv1', type: 'kv', options: { version: '1' } });
    await vault.mount({ mount_point: 'kv2', type: 'kv', options: { version: '2' } });

    // KV version 1
    await vault.write('kv1/app/db', { password: 'node-secret' });
    assert.deepEqual((await vault.read('kv1/app/db')).data, { password: 'node-secret' });
    assert.deepEqual((await vault.list('kv1/app')).data.keys, ['db']);
    await rejects(vault.read('kv1/app/none'), 404);

    // KV version 2 with check-and-set, soft delete and undelete
    await vault.write('kv2/data/svc', { data: { v: 'one' } });
    await vault.write('kv2/data/svc', { data: { v: 'two' }, options: { cas: 1 } });
    const conflict = await rejects(vault.write('kv2/data/svc', { data: { v: 'x' }, options: { cas: 1 } }), 400);
    assert.match(conflict.message, /check-and-set/);
    assert.deepEqual((await vault.read('kv2/data/svc')).data.data, { v: 'two' });
    assert.deepEqual((await vault.list('kv2/metadata')).data.keys, ['svc']);
    await vault.delete('kv2/data/svc');
    await rejects(vault.read('kv2/data/svc'), 404);
    await vault.write('kv2/undelete/svc', { versions: [2] });
    assert.deepEqual((await vault.read('kv2/data/svc')).data.data, { v: 'two' });

    // Policy: one path allowed, another denied
    await vault.addPolicy({ name: 'svc-reader', rules: 'path "kv2/data/svc" { capabilities = ["read"] }' });
    const created = await vault.tokenCreate({ policies: ['svc-reader'] });
    const reader: VaultClient = nodeVault({ apiVersion: 'v1', endpoint: server.url, token: created.auth.client_token });
    assert.deepEqual((await reader.read('kv2/data/svc')).data.data, { v: 'two' });
    await rejects(reader.read('kv1/app/db'), 403);
    await rejects(reader.write('kv2/data/svc', { data: { v: 'no' } }), 403);

    // Audit
    const log = readFileSync(auditFile, 'utf8');
    assert.ok(!log.includes('node-secret'), 'a secret value reached the audit log in clear');
    assert.ok(!log.includes(rootToken), 'the root token reached the audit log in clear');
    const entry = log
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .find((e) => e.type === 'request' && e.request.path === 'kv1/app/db' && e.request.data?.password);
    assert.ok(entry, 'no audit entry for the kv1 write');
    assert.match(entry.request.data.password, /^hmac-sha256:[0-9a-f]{64}$/);
  } finally {
    await server.stop();
  }

  server = await spawnServer(['server', `-config=${configPath}`]);
  try {
    const vault: VaultClient = nodeVault({ apiVersion: 'v1', endpoint: server.url, token: rootToken });
    assert.equal((await vault.status()).sealed, true);
    await rejects(vault.read('kv1/app/db'), 503);
    for (const key of keys.slice(2, 5)) await vault.unseal({ key });
    assert.deepEqual((await vault.read('kv1/app/db')).data, { password: 'node-secret' });
    assert.deepEqual((await vault.read('kv2/data/svc')).data.data, { v: 'two' });
  } finally {
    await server.stop();
  }
});
