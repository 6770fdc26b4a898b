import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv } from 'node:crypto';
import { api, startDevServer } from '../../helpers/server.js';
import { b64 } from './harness.js';

const MAX_REQUEST_SIZE = 4 * 1024 * 1024;
let server: Awaited<ReturnType<typeof startDevServer>>;
const call = (method: string, path: string, body?: unknown, token = 'root') => api(server.url, method, path, { token, body });

before(async () => {
  server = await startDevServer({
    listeners: [{ type: 'tcp', address: '127.0.0.1:0', tlsDisable: true, tlsMinVersion: 'tls12', maxRequestSize: MAX_REQUEST_SIZE }],
  });
  const mounted = await call('POST', 'sys/mounts/transit', { type: 'transit' });
  assert.equal(mounted.status, 204);
});

after(async () => {
  await server.close();
});

test('keys over HTTP', async () => {
  const created = await call('POST', 'transit/keys/web', { type: 'aes256-gcm96', exportable: true });
  assert.equal(created.status, 200);
  assert.equal(created.body.data.name, 'web');
  assert.equal(created.body.mount_type, 'transit');

  const read = await call('GET', 'transit/keys/web');
  assert.equal(read.body.data.latest_version, 1);
  assert.equal((await call('GET', 'transit/keys/none')).status, 404);

  const listed = await call('LIST', 'transit/keys');
  assert.ok(listed.body.data.keys.includes('web'));
  assert.deepEqual((await call('GET', 'transit/keys?list=true')).body.data.keys, listed.body.data.keys);

  assert.equal((await call('POST', 'transit/keys/web/rotate')).body.data.latest_version, 2);
  assert.equal((await call('POST', 'transit/keys/web/config', { min_encryption_version: 2, min_decryption_version: 1 })).status, 200);
  assert.equal((await call('POST', 'transit/keys/web/trim', { min_available_version: 1 })).status, 200);

  const denied = await call('DELETE', 'transit/keys/web');
  assert.equal(denied.status, 400);
  assert.match(denied.body.errors[0], /deletion is not allowed/);
  await call('POST', 'transit/keys/web/config', { deletion_allowed: true });
  assert.equal((await call('DELETE', 'transit/keys/web')).status, 204);
  assert.equal((await call('GET', 'transit/keys/web')).status, 404);
});

test('encrypt, decrypt, rewrap and datakey over HTTP', async () => {
  await call('POST', 'transit/keys/app', { exportable: true });
  const encrypted = await call('POST', 'transit/encrypt/app', { plaintext: b64('over http') });
  assert.equal(encrypted.status, 200);
  const { ciphertext } = encrypted.body.data;

  // An exported key decrypts the ciphertext with node:crypto directly.
  const exported = await call('GET', 'transit/export/encryption-key/app/1');
  const key = Buffer.from(exported.body.data.keys['1'], 'base64');
  const payload = Buffer.from(ciphertext.split(':')[2], 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, payload.subarray(0, 12));
  decipher.setAuthTag(payload.subarray(payload.length - 16));
  assert.equal(Buffer.concat([decipher.update(payload.subarray(12, payload.length - 16)), decipher.final()]).toString(), 'over http');

  assert.equal((await call('POST', 'transit/decrypt/app', { ciphertext })).body.data.plaintext, b64('over http'));
  await call('POST', 'transit/keys/app/rotate');
  const rewrapped = await call('POST', 'transit/rewrap/app', { ciphertext });
  assert.match(rewrapped.body.data.ciphertext, /^vault:v2:/);
  const datakey = await call('POST', 'transit/datakey/plaintext/app', { bits: 128 });
  assert.equal(Buffer.from(datakey.body.data.plaintext, 'base64').length, 16);

  const tampered = await call('POST', 'transit/decrypt/app', { ciphertext: ciphertext.slice(0, -4) + 'AAAA' });
  assert.equal(tampered.status, 400);
  assert.deepEqual(tampered.body.errors, ['invalid ciphertext: unable to decrypt']);
  const badBase64 = await call('POST', 'transit/encrypt/app', { plaintext: '%%%' });
  assert.equal(badBase64.status, 400);
  assert.match(badBase64.body.errors[0], /invalid plaintext: not valid base64/);
});

test('batch over HTTP: mixed and 10000 items', async () => {
  await call('POST', 'transit/keys/batch');
  const mixed = await call('POST', 'transit/encrypt/batch', { batch_input: [{ plaintext: b64('ok') }, { plaintext: '***' }] });
  assert.equal(mixed.status, 400);
  assert.match(mixed.body.data.batch_results[0].ciphertext, /^vault:v1:/);
  assert.match(mixed.body.data.batch_results[1].error, /invalid plaintext/);

  const batch_input = Array.from({ length: 10_000 }, (_, i) => ({ plaintext: b64(`row ${i}`) }));
  const started = Date.now();
  const pending = call('POST', 'transit/encrypt/batch', { batch_input });
  // The server keeps serving other requests while the batch runs.
  const health = await api(server.url, 'GET', 'sys/health');
  assert.equal(health.status, 200);
  const big = await pending;
  assert.equal(big.status, 200);
  assert.equal(big.body.data.batch_results.length, 10_000);
  const decrypted = await call('POST', 'transit/decrypt/batch', { batch_input: big.body.data.batch_results.map((r: { ciphertext: string }) => ({ ciphertext: r.ciphertext })) });
  assert.equal(decrypted.status, 200);
  assert.equal(decrypted.body.data.batch_results[1234].plaintext, b64('row 1234'));
  assert.ok(Date.now() - started < 60_000);
});

test('oversized batch gives 413', async () => {
  const batch_input = Array.from({ length: 60_000 }, () => ({ plaintext: b64('x'.repeat(64)) }));
  const response = await call('POST', 'transit/encrypt/batch', { batch_input });
  assert.equal(response.status, 413);
  assert.equal((await api(server.url, 'GET', 'sys/health')).status, 200);
  assert.equal((await call('POST', 'transit/encrypt/batch', { plaintext: b64('still up') })).status, 200);
});

test('signing and hashing over HTTP', async () => {
  await call('POST', 'transit/keys/signer', { type: 'ecdsa-p256' });
  const signed = await call('POST', 'transit/sign/signer/sha2-384', { input: b64('doc') });
  assert.equal(signed.status, 200);
  const verified = await call('POST', 'transit/verify/signer/sha2-384', { input: b64('doc'), signature: signed.body.data.signature });
  assert.equal(verified.body.data.valid, true);
  const wrongType = await call('POST', 'transit/sign/app', { input: b64('doc') });
  assert.equal(wrongType.status, 400);
  assert.match(wrongType.body.errors[0], /does not support signing/);

  const hmac = await call('POST', 'transit/hmac/signer', { input: b64('doc') });
  assert.equal((await call('POST', 'transit/verify/signer', { input: b64('doc'), hmac: hmac.body.data.hmac })).body.data.valid, true);
  assert.equal((await call('POST', 'transit/hash/sha2-256', { input: b64('abc') })).body.data.sum, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(Buffer.from((await call('POST', 'transit/random/24')).body.data.random_bytes, 'base64').length, 24);
});

test('export and backup over HTTP', async () => {
  await call('POST', 'transit/keys/portable', { exportable: true, allow_plaintext_backup: true });
  const { ciphertext } = (await call('POST', 'transit/encrypt/portable', { plaintext: b64('move me') })).body.data;
  const backup = await call('GET', 'transit/backup/portable');
  assert.equal(backup.status, 200);
  assert.equal((await call('POST', 'transit/restore/copy', { backup: backup.body.data.backup })).status, 204);
  assert.equal((await call('POST', 'transit/decrypt/copy', { ciphertext })).body.data.plaintext, b64('move me'));

  assert.equal((await call('POST', 'transit/cache-config', { size: 50 })).status, 200);
  assert.equal((await call('GET', 'transit/cache-config')).body.data.size, 50);
  assert.equal((await call('GET', 'transit/export/hmac-key/portable/latest')).status, 200);
  assert.equal((await call('POST', 'transit/config/keys', { disable_upsert: false })).status, 200);

  const wrapping = await call('GET', 'transit/wrapping_key');
  assert.match(wrapping.body.data.public_key, /^-----BEGIN PUBLIC KEY-----/);
});

test('upsert needs create capability', async () => {
  const policy = 'path "transit/encrypt/*" { capabilities = ["update"] }';
  assert.equal((await call('PUT', 'sys/policies/acl/encrypt-only', { policy })).status, 204);
  const token = (await call('POST', 'auth/token/create', { policies: ['encrypt-only'] })).body.auth.client_token;

  const missing = await call('POST', 'transit/encrypt/never-created', { plaintext: b64('x') }, token);
  assert.equal(missing.status, 403);
  assert.equal((await call('GET', 'transit/keys/never-created')).status, 404);
  await call('POST', 'transit/keys/existing');
  assert.equal((await call('POST', 'transit/encrypt/existing', { plaintext: b64('x') }, token)).status, 200);
});
