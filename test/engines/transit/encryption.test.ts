import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv, hkdfSync, type CipherGCMTypes } from 'node:crypto';
import { b64, mountTransit } from './harness.js';

const AEAD: Record<string, CipherGCMTypes> = {
  'aes128-gcm96': 'aes-128-gcm',
  'aes256-gcm96': 'aes-256-gcm',
  'chacha20-poly1305': 'chacha20-poly1305' as CipherGCMTypes,
};

/** Decrypts Vault's layout (nonce 12 || ciphertext || tag 16) with node:crypto directly. */
function decryptLocally(cipher: CipherGCMTypes, key: Buffer, ciphertext: string, aad?: Buffer): string {
  const payload = Buffer.from(ciphertext.split(':')[2], 'base64');
  const decipher = createDecipheriv(cipher, key, payload.subarray(0, 12), { authTagLength: 16 });
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(payload.subarray(payload.length - 16));
  return Buffer.concat([decipher.update(payload.subarray(12, payload.length - 16)), decipher.final()]).toString('utf8');
}

test('exported key decrypts ciphertext with node:crypto', async () => {
  const t = await mountTransit();
  for (const [type, cipher] of Object.entries(AEAD)) {
    await t.write(`keys/${type}`, { type, exportable: true });
    const { ciphertext } = await t.write(`encrypt/${type}`, { plaintext: b64('interop secret'), associated_data: b64('aad') });
    const key = Buffer.from((await t.read(`export/encryption-key/${type}/1`)).keys['1'], 'base64');
    assert.equal(decryptLocally(cipher, key, ciphertext, Buffer.from('aad')), 'interop secret', type);
  }
  await t.close();
});

test('round trip for every encrypting type', async () => {
  const t = await mountTransit();
  for (const type of [...Object.keys(AEAD), 'rsa-2048']) {
    await t.write(`keys/${type}`, { type });
    const plaintext = b64(`data for ${type}`);
    const { ciphertext, key_version } = await t.write(`encrypt/${type}`, { plaintext });
    assert.equal(key_version, 1);
    assert.match(ciphertext, /^vault:v1:[A-Za-z0-9+/]+=*$/);
    assert.equal((await t.write(`decrypt/${type}`, { ciphertext })).plaintext, plaintext, type);
  }
  const empty = await t.write('encrypt/aes256-gcm96', { plaintext: '' });
  assert.equal((await t.write('decrypt/aes256-gcm96', { ciphertext: empty.ciphertext })).plaintext, '');
  await assert.rejects(t.write('encrypt/rsa-2048', { plaintext: b64('x'), padding_scheme: 'pkcs1v15' }), /pkcs1v15 is not supported/);
  await t.close();
});

test('associated data must match', async () => {
  const t = await mountTransit();
  await t.write('keys/k');
  const { ciphertext } = await t.write('encrypt/k', { plaintext: b64('x'), associated_data: b64('row-1') });
  assert.equal((await t.write('decrypt/k', { ciphertext, associated_data: b64('row-1') })).plaintext, b64('x'));
  await assert.rejects(t.write('decrypt/k', { ciphertext, associated_data: b64('row-2') }), /^BadRequestError: invalid ciphertext: unable to decrypt$/);
  await assert.rejects(t.write('decrypt/k', { ciphertext }), /unable to decrypt/);
  await t.close();
});

test('derived key needs context and uses HKDF', async () => {
  const t = await mountTransit();
  await t.write('keys/d', { derived: true, exportable: true });
  await assert.rejects(t.write('encrypt/d', { plaintext: b64('x') }), /missing context/);
  const { ciphertext } = await t.write('encrypt/d', { plaintext: b64('x'), context: b64('tenant-1') });
  await assert.rejects(t.write('decrypt/d', { ciphertext }), /missing context/);
  await assert.rejects(t.write('decrypt/d', { ciphertext, context: b64('tenant-2') }), /unable to decrypt/);
  assert.equal((await t.write('decrypt/d', { ciphertext, context: b64('tenant-1') })).plaintext, b64('x'));

  // The documented derivation: HKDF-SHA256, key as input, no salt, context as info.
  const base = Buffer.from((await t.read('export/encryption-key/d/1')).keys['1'], 'base64');
  const derived = Buffer.from(hkdfSync('sha256', base, Buffer.alloc(0), Buffer.from('tenant-1'), 32));
  assert.equal(decryptLocally('aes-256-gcm', derived, ciphertext), 'x');
  const read = await t.read('keys/d');
  assert.equal(read.kdf, 'hkdf_sha256');
  await t.close();
});

test('convergent encryption is deterministic', async () => {
  const t = await mountTransit();
  await t.write('keys/c', { derived: true, convergent_encryption: true });
  const context = b64('ctx');
  const first = await t.write('encrypt/c', { plaintext: b64('same'), context });
  const second = await t.write('encrypt/c', { plaintext: b64('same'), context });
  const other = await t.write('encrypt/c', { plaintext: b64('different'), context });
  const otherContext = await t.write('encrypt/c', { plaintext: b64('same'), context: b64('ctx2') });
  assert.equal(first.ciphertext, second.ciphertext);
  assert.notEqual(first.ciphertext, other.ciphertext);
  assert.notEqual(first.ciphertext, otherContext.ciphertext);
  assert.equal((await t.write('decrypt/c', { ciphertext: first.ciphertext, context })).plaintext, b64('same'));
  const read = await t.read('keys/c');
  assert.equal(read.convergent_encryption, true);
  assert.equal(read.convergent_encryption_version, 3);

  await t.write('keys/plain');
  const random1 = await t.write('encrypt/plain', { plaintext: b64('same') });
  const random2 = await t.write('encrypt/plain', { plaintext: b64('same') });
  assert.notEqual(random1.ciphertext, random2.ciphertext);
  await assert.rejects(t.write('encrypt/plain', { plaintext: b64('x'), nonce: Buffer.alloc(12).toString('base64') }), /nonce is accepted only/);
  await t.close();
});

test('tampered ciphertext gives a generic 400', async () => {
  const t = await mountTransit();
  await t.write('keys/k');
  const { ciphertext } = await t.write('encrypt/k', { plaintext: b64('secret value') });
  const payload = Buffer.from(ciphertext.slice('vault:v1:'.length), 'base64');
  for (const index of [0, 14, payload.length - 1]) {
    const tampered = Buffer.from(payload);
    tampered[index] ^= 1;
    const err = await t.write('decrypt/k', { ciphertext: `vault:v1:${tampered.toString('base64')}` }).catch((e) => e);
    assert.equal(err.status, 400);
    assert.equal(err.message, 'invalid ciphertext: unable to decrypt');
  }
  await assert.rejects(t.write('decrypt/k', { ciphertext: 'vault:v1:AAAA' }), /unable to decrypt/);
  await t.close();
});

test('bad input gives clear errors', async () => {
  const t = await mountTransit();
  await t.write('keys/k');
  await t.write('keys/ed', { type: 'ed25519' });
  await assert.rejects(t.write('encrypt/k', { plaintext: 'not base64!' }), /invalid plaintext: not valid base64/);
  await assert.rejects(t.write('encrypt/k', {}), /missing plaintext/);
  await assert.rejects(t.write('encrypt/k', { plaintext: b64('x'), context: '%%%' }), /invalid context/);
  await assert.rejects(t.write('decrypt/k', { ciphertext: 'v1:abc' }), /expected the form vault:vN/);
  await assert.rejects(t.write('decrypt/k', { ciphertext: 'vault:v1:@@@@' }), /not valid base64/);
  await assert.rejects(t.write('decrypt/k', { ciphertext: 'vault:v7:AAAA' }), /no such version/);
  await assert.rejects(t.write('decrypt/k', {}), /missing ciphertext/);
  await assert.rejects(t.write('decrypt/missing', { ciphertext: 'vault:v1:AAAA' }), /key "missing" not found/);
  await assert.rejects(t.write('encrypt/ed', { plaintext: b64('x') }), /does not support encryption/);
  await assert.rejects(t.write('decrypt/ed', { ciphertext: 'vault:v1:AAAA' }), /does not support decryption/);
  await t.close();
});

test('rewrap moves ciphertext to the latest version', async () => {
  const t = await mountTransit();
  await t.write('keys/k');
  const { ciphertext } = await t.write('encrypt/k', { plaintext: b64('keep') });
  await t.write('keys/k/rotate');
  const rewrapped = await t.write('rewrap/k', { ciphertext });
  assert.match(rewrapped.ciphertext, /^vault:v2:/);
  assert.equal(rewrapped.key_version, 2);
  assert.equal(rewrapped.plaintext, undefined);
  assert.equal((await t.write('decrypt/k', { ciphertext: rewrapped.ciphertext })).plaintext, b64('keep'));
  const pinned = await t.write('rewrap/k', { ciphertext: rewrapped.ciphertext, key_version: 1 });
  assert.match(pinned.ciphertext, /^vault:v1:/);
  await t.close();
});

test('datakey plaintext and wrapped', async () => {
  const t = await mountTransit();
  await t.write('keys/k');
  const plain = await t.write('datakey/plaintext/k', { bits: 512 });
  assert.equal(Buffer.from(plain.plaintext, 'base64').length, 64);
  assert.equal((await t.write('decrypt/k', { ciphertext: plain.ciphertext })).plaintext, plain.plaintext);
  const wrapped = await t.write('datakey/wrapped/k');
  assert.equal(wrapped.plaintext, undefined);
  const unwrapped = await t.write('decrypt/k', { ciphertext: wrapped.ciphertext });
  assert.equal(Buffer.from(unwrapped.plaintext, 'base64').length, 32);
  await assert.rejects(t.write('datakey/plaintext/k', { bits: 100 }), /use 128, 256 or 512/);
  await assert.rejects(t.write('datakey/other/k'), /unsupported path/);
  await t.close();
});

test('batch with valid and invalid items', async () => {
  const t = await mountTransit();
  await t.write('keys/k', { derived: true });
  const response = await t.request('update', 'encrypt/k', {
    batch_input: [
      { plaintext: b64('a'), context: b64('c1'), reference: 'first' },
      { plaintext: 'not base64!', context: b64('c1') },
      { plaintext: b64('b') },
      'not an object',
      { plaintext: b64('c'), context: b64('c2') },
    ],
  });
  assert.equal(response!.status, 400);
  const results = response!.data!.batch_results as Record<string, string>[];
  assert.equal(results.length, 5);
  assert.match(results[0].ciphertext, /^vault:v1:/);
  assert.equal(results[0].reference, 'first');
  assert.match(results[1].error, /invalid plaintext/);
  assert.match(results[2].error, /missing context/);
  assert.match(results[3].error, /not an object/);
  assert.match(results[4].ciphertext, /^vault:v1:/);

  const decrypted = await t.request('update', 'decrypt/k', {
    batch_input: [
      { ciphertext: results[0].ciphertext, context: b64('c1') },
      { ciphertext: results[4].ciphertext, context: b64('c1') },
      { ciphertext: results[4].ciphertext, context: b64('c2') },
    ],
    partial_failure_response_code: 207,
  });
  assert.equal(decrypted!.status, 207);
  const items = decrypted!.data!.batch_results as Record<string, string>[];
  assert.equal(items[0].plaintext, b64('a'));
  assert.equal(items[1].error, 'invalid ciphertext: unable to decrypt');
  assert.equal(items[2].plaintext, b64('c'));

  const clean = await t.request('update', 'rewrap/k', { batch_input: [{ ciphertext: results[0].ciphertext, context: b64('c1') }] });
  assert.equal(clean!.status, undefined);
  await assert.rejects(t.write('encrypt/k', { batch_input: [] }), /array is empty/);
  await assert.rejects(t.write('encrypt/k', { batch_input: 'x' }), /expected an array/);
  await t.close();
});

test('batch of 10000 items', async () => {
  const t = await mountTransit();
  await t.write('keys/k');
  const batch_input = Array.from({ length: 10_000 }, (_, i) => ({ plaintext: b64(`item ${i}`) }));
  const encrypted = await t.write('encrypt/k', { batch_input });
  assert.equal(encrypted.batch_results.length, 10_000);
  const decrypted = await t.write('decrypt/k', { batch_input: encrypted.batch_results.map((r: { ciphertext: string }) => ({ ciphertext: r.ciphertext })) });
  assert.equal(decrypted.batch_results[9_999].plaintext, b64('item 9999'));
  assert.ok(decrypted.batch_results.every((r: { error?: string }) => r.error === undefined));
  await t.close();
});
