import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import nodeVault from 'node-vault';
import { spawnServer, type ServerProcess } from '../helpers/server.js';

type VaultClient = ReturnType<typeof nodeVault>;

async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (err) {
    return (err as { response?: { statusCode: number } }).response?.statusCode ?? 0;
  }
}

describe('node-vault: identity, leases, wrapping, batch', () => {
  let server: ServerProcess;
  // node-vault replaces a client's token with the one a token-creating call returns, so every
  // root call gets a fresh client.
  const root = new Proxy({} as VaultClient, { get: (_target, name) => (client('root') as unknown as Record<string | symbol, unknown>)[name] });
  const client = (token?: string): VaultClient => nodeVault({ apiVersion: 'v1', endpoint: server.url, token });

  before(async () => {
    const port = 0; // the server picks a free port and prints it
    server = await spawnServer(['server', '-dev', '-dev-root-token-id=root', `-dev-listen-address=127.0.0.1:${port}`]);
    await root.addPolicy({ name: 'web', rules: 'path "secret/data/web/*" { capabilities = ["read"] }' });
    await root.write('secret/data/web/db', { data: { password: 'nv-secret' } });
  });
  after(() => server.stop());

  it('logs in with AppRole from a wrapped secret ID', async () => {
    await root.enableAuth({ mount_point: 'approle', type: 'approle' });
    await root.write('auth/approle/role/web', { token_policies: ['web'], token_ttl: '1h', secret_id_num_uses: 1 });
    const roleId = (await root.read('auth/approle/role/web/role-id')).data.role_id;
    const wrapped = await root.write('auth/approle/role/web/secret-id', {}, { headers: { 'X-Vault-Token': 'root', 'X-Vault-Wrap-TTL': '60s' } });
    assert.equal(wrapped.data, null);

    const app = client();
    const secretId = (await app.unwrap({ token: wrapped.wrap_info.token })).data.secret_id;
    assert.equal(await statusOf(app.unwrap({ token: wrapped.wrap_info.token })), 400);
    const login = await app.approleLogin({ role_id: roleId, secret_id: secretId });
    assert.deepEqual(login.auth.policies, ['default', 'web']);
    assert.equal((await client(login.auth.client_token).read('secret/data/web/db')).data.data.password, 'nv-secret');
    assert.equal(await statusOf(client().approleLogin({ role_id: roleId, secret_id: secretId })), 400);
  });

  it('refuses an AppRole login from outside the bound CIDR', async () => {
    const roleId = (await root.read('auth/approle/role/web/role-id')).data.role_id;
    const bound = (await root.write('auth/approle/role/web/secret-id', { cidr_list: ['10.0.0.0/8'] })).data.secret_id;
    assert.equal(await statusOf(client().approleLogin({ role_id: roleId, secret_id: bound })), 400);
  });

  it('logs in with userpass', async () => {
    await root.enableAuth({ mount_point: 'userpass', type: 'userpass' });
    await root.write('auth/userpass/users/erin', { password: 'erin-pass-1', token_policies: ['web'] });
    const login = await client().userpassLogin({ username: 'erin', password: 'erin-pass-1' });
    assert.equal((await client(login.auth.client_token).read('secret/data/web/db')).data.data.password, 'nv-secret');
    assert.equal(await statusOf(client().userpassLogin({ username: 'erin', password: 'nope' })), 400);
  });

  it('caps a renewal at the max TTL', async () => {
    const created = await root.tokenCreate({ policies: ['web'], ttl: '10m', explicit_max_ttl: '15m' });
    const renewed = await client(created.auth.client_token).tokenRenewSelf({ increment: '1h' });
    assert.ok(renewed.auth.lease_duration <= 900);
    assert.ok(renewed.warnings?.length > 0);
  });

  it('revokes children and their leases with the parent', async () => {
    await root.mount({ mount_point: 'pki', type: 'pki' });
    await root.write('pki/root/generate/internal', { common_name: 'nv root', key_type: 'ec', ttl: '24h' });
    await root.write('pki/roles/leased', { allowed_domains: 'example.test', allow_subdomains: true, key_type: 'ec', ttl: '1h', generate_lease: true });
    await root.addPolicy({ name: 'issuer', rules: 'path "pki/issue/*" { capabilities = ["update"] }\npath "auth/token/create" { capabilities = ["update"] }' });
    const parent = (await root.tokenCreate({ policies: ['issuer'] })).auth.client_token;
    const child = (await client(parent).tokenCreate({ policies: ['issuer'] })).auth.client_token;
    const issued = await client(child).write('pki/issue/leased', { common_name: 'b.example.test' });
    assert.ok(issued.lease_id);
    await root.tokenRevoke({ token: parent });
    assert.equal(await statusOf(client(child).tokenLookupSelf()), 403);
    assert.equal(await statusOf(root.write('sys/leases/lookup', { lease_id: issued.lease_id })), 400);
  });

  it('expires a wrapping token', async () => {
    const wrapped = await root.read('secret/data/web/db', { headers: { 'X-Vault-Token': 'root', 'X-Vault-Wrap-TTL': '1s' } });
    await sleep(2200);
    assert.equal(await statusOf(client().unwrap({ token: wrapped.wrap_info.token })), 400);
  });

  it('limits batch tokens', async () => {
    // node-vault's tokenCreate schema drops the `type` field, so the generic write is used.
    const batch = await root.write('auth/token/create', { policies: ['web'], ttl: '10m', type: 'batch' });
    const token = batch.auth.client_token;
    assert.match(token, /^hvb\./);
    assert.equal((await client(token).read('secret/data/web/db')).data.data.password, 'nv-secret');
    assert.equal(await statusOf(client(token).tokenRenewSelf({})), 400);
  });
});
