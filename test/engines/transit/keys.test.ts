import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BadRequestError } from '../../../src/errors.js';
import { b64, mountTransit } from './harness.js';

const TYPES = ['aes128-gcm96', 'aes256-gcm96', 'chacha20-poly1305', 'ed25519', 'ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'rsa-2048', 'hmac'];

test('create and read every key type', async () => {
  const t = await mountTransit();
  for (const type of TYPES) {
    await t.write(`keys/${type}`, { type });
    const key = await t.read(`keys/${type}`);
    assert.equal(key.type, type);
    assert.equal(key.name, type);
    assert.equal(key.latest_version, 1);
    assert.equal(key.min_decryption_version, 1);
    assert.equal(key.min_encryption_version, 0);
    assert.equal(key.deletion_allowed, false);
    assert.ok(key.keys['1'] !== undefined, `${type} lists version 1`);
  }
  const aes = await t.read('keys/aes256-gcm96');
  assert.equal(typeof aes.keys['1'], 'number');
  assert.equal(aes.supports_encryption, true);
  assert.equal(aes.supports_signing, false);
  assert.equal(aes.supports_derivation, true);

  const ecdsa = await t.read('keys/ecdsa-p384');
  assert.equal(ecdsa.keys['1'].name, 'P-384');
  assert.match(ecdsa.keys['1'].public_key, /^-----BEGIN PUBLIC KEY-----/);
  assert.equal(ecdsa.supports_signing, true);
  assert.equal(ecdsa.supports_encryption, false);

  const ed = await t.read('keys/ed25519');
  assert.equal(Buffer.from(ed.keys['1'].public_key, 'base64').length, 32);
  const rsa = await t.read('keys/rsa-2048');
  assert.equal(rsa.supports_encryption, true);
  assert.equal(rsa.supports_signing, true);
  assert.equal((await t.read('keys/hmac')).key_size, 32);
  await t.close();
});

test('create rejects invalid settings', async () => {
  const t = await mountTransit();
  await assert.rejects(t.write('keys/a', { type: 'des' }), /unknown key type "des"/);
  await assert.rejects(t.write('keys/a', { convergent_encryption: true }), /requires derived/);
  await assert.rejects(t.write('keys/a', { type: 'ecdsa-p256', derived: true }), /derivation is not supported/);
  await assert.rejects(t.write('keys/a', { type: 'ed25519', derived: true, convergent_encryption: true }), /convergent_encryption is not supported/);
  await assert.rejects(t.write('keys/a', { type: 'hmac', key_size: 16 }), /key_size 16/);
  await assert.rejects(t.write('keys/a', { key_size: 64 }), /hmac keys only/);
  await assert.rejects(t.write('keys/a', { auto_rotate_period: '30m' }), /auto_rotate_period/);
  await assert.rejects(t.write('keys/a', { derived: 'maybe' }), BadRequestError);
  assert.equal(await t.request('read', 'keys/a'), null);
  await t.close();
});

test('create of an existing key warns and keeps it', async () => {
  const t = await mountTransit();
  await t.write('keys/k', { type: 'aes128-gcm96' });
  const again = await t.request('update', 'keys/k', { type: 'chacha20-poly1305' });
  assert.match(again!.warnings![0], /already exists/);
  assert.equal((await t.read('keys/k')).type, 'aes128-gcm96');
  await t.close();
});

test('hmac key with key_size', async () => {
  const t = await mountTransit();
  await t.write('keys/h', { type: 'hmac', key_size: 64, exportable: true });
  assert.equal((await t.read('keys/h')).key_size, 64);
  const exported = await t.read('export/hmac-key/h/1');
  assert.equal(Buffer.from(exported.keys['1'], 'base64').length, 64);
  await assert.rejects(t.write('encrypt/h', { plaintext: b64('x') }), /does not support encryption/);
  await t.close();
});

test('list keys with paging', async () => {
  const t = await mountTransit();
  for (const name of ['c', 'a', 'b', 'd']) await t.write(`keys/${name}`);
  assert.deepEqual((await t.request('list', 'keys'))!.data!.keys, ['a', 'b', 'c', 'd']);
  const page = await t.request('list', 'keys/', {}, { after: 'a', limit: '2' });
  assert.deepEqual(page!.data!.keys, ['b', 'c']);
  await t.close();
});

test('delete requires deletion_allowed', async () => {
  const t = await mountTransit();
  await t.write('keys/k');
  await assert.rejects(t.request('delete', 'keys/k'), /deletion is not allowed/);
  await t.write('keys/k/config', { deletion_allowed: true });
  await t.request('delete', 'keys/k');
  assert.equal(await t.request('read', 'keys/k'), null);
  await assert.rejects(t.request('delete', 'keys/k'), /not found/);
  await t.close();
});

test('rotate adds versions and encrypts with the latest', async () => {
  const t = await mountTransit();
  await t.write('keys/k');
  const old = await t.write('encrypt/k', { plaintext: b64('one') });
  const rotated = await t.write('keys/k/rotate');
  assert.equal(rotated.latest_version, 2);
  assert.deepEqual(Object.keys(rotated.keys), ['1', '2']);
  const fresh = await t.write('encrypt/k', { plaintext: b64('two') });
  assert.match(fresh.ciphertext, /^vault:v2:/);
  assert.equal((await t.write('decrypt/k', { ciphertext: old.ciphertext })).plaintext, b64('one'));
  await assert.rejects(t.write('keys/missing/rotate'), /not found/);
  await t.close();
});

test('config version limits', async () => {
  const t = await mountTransit();
  await t.write('keys/k');
  for (let i = 0; i < 3; i++) await t.write('keys/k/rotate');
  const v1 = await t.write('encrypt/k', { plaintext: b64('x'), key_version: 1 });
  assert.match(v1.ciphertext, /^vault:v1:/);

  await t.write('keys/k/config', { min_decryption_version: 2, min_encryption_version: 3 });
  const key = await t.read('keys/k');
  assert.equal(key.min_decryption_version, 2);
  assert.equal(key.min_encryption_version, 3);
  await assert.rejects(t.write('decrypt/k', { ciphertext: v1.ciphertext }), /below min_decryption_version 2/);
  await assert.rejects(t.write('encrypt/k', { plaintext: b64('x'), key_version: 2 }), /min_encryption_version 3/);
  await assert.rejects(t.write('encrypt/k', { plaintext: b64('x'), key_version: 9 }), /latest version of key "k" is 4/);

  await assert.rejects(t.write('keys/k/config', { min_decryption_version: 5 }), /above the latest version/);
  await assert.rejects(t.write('keys/k/config', { min_encryption_version: 1 }), /at least min_decryption_version/);
  await assert.rejects(t.write('keys/k/config', { auto_rotate_period: '10m' }), /at least 1h/);
  await t.write('keys/k/config', { exportable: true, allow_plaintext_backup: true });
  await assert.rejects(t.write('keys/k/config', { exportable: false }), /cannot be disabled/);
  await assert.rejects(t.write('keys/k/config', { allow_plaintext_backup: false }), /cannot be disabled/);
  const zero = await t.request('update', 'keys/k/config', { min_decryption_version: 0 });
  assert.match(zero!.warnings![0], /set to 1/);
  await assert.rejects(t.write('keys/none/config', { deletion_allowed: true }), /not found/);
  await t.close();
});

test('trim deletes old versions', async () => {
  const t = await mountTransit();
  await t.write('keys/k');
  for (let i = 0; i < 3; i++) await t.write('keys/k/rotate');
  const v2 = await t.write('encrypt/k', { plaintext: b64('x'), key_version: 2 });
  await assert.rejects(t.write('keys/k/trim', { min_available_version: 2 }), /min_encryption_version above 0/);
  await t.write('keys/k/config', { min_decryption_version: 3, min_encryption_version: 4 });
  await assert.rejects(t.write('keys/k/trim', { min_available_version: 4 }), /above the lesser/);
  await assert.rejects(t.write('keys/k/trim', {}), /missing required field "min_available_version"/);

  const trimmed = await t.write('keys/k/trim', { min_available_version: 3 });
  assert.deepEqual(Object.keys(trimmed.keys), ['3', '4']);
  assert.equal(trimmed.min_available_version, 3);
  await t.write('keys/k/config', { min_decryption_version: 3 });
  await assert.rejects(t.write('keys/k/config', { min_decryption_version: 2 }), /trimmed/);
  await assert.rejects(t.write('decrypt/k', { ciphertext: v2.ciphertext }), /below min_decryption_version/);
  await assert.rejects(t.write('keys/k/trim', { min_available_version: 2 }), /cannot return/);
  await t.close();
});

test('encrypt upserts only with the create capability', async () => {
  const t = await mountTransit();
  await assert.rejects(t.update('encrypt/new', { plaintext: b64('x') }), /encryption key "new" not found/);
  assert.equal(await t.request('read', 'keys/new'), null);

  const out = await t.write('encrypt/new', { plaintext: b64('x') });
  assert.match(out.ciphertext, /^vault:v1:/);
  assert.equal((await t.read('keys/new')).type, 'aes256-gcm96');

  await t.write('encrypt/derived', { plaintext: b64('x'), context: b64('ctx'), type: 'chacha20-poly1305' });
  const derived = await t.read('keys/derived');
  assert.equal(derived.derived, true);
  assert.equal(derived.type, 'chacha20-poly1305');

  await t.write('config/keys', { disable_upsert: true });
  assert.deepEqual(await t.read('config/keys'), { disable_upsert: true });
  await assert.rejects(t.write('encrypt/other', { plaintext: b64('x') }), /not found/);
  await t.close();
});

test('key names outside the pattern are not routed', async () => {
  const t = await mountTransit();
  await assert.rejects(t.write('keys/bad name'), /unsupported path/);
  await assert.rejects(t.write('keys/-dash'), /unsupported path/);
  await t.write('keys/ok.name-1_x');
  await t.close();
});
