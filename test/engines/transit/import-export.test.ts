import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
  verify as nodeVerify,
} from 'node:crypto';
import { b64, mountTransit, type TransitHarness } from './harness.js';

/**
 * Wraps key material for import the way Vault's BYOK guide describes: an ephemeral AES-256 key
 * wraps the material with AES key wrap with padding (RFC 5649), and RSA-OAEP under the mount's
 * wrapping key wraps the AES key.
 */
function wrapForImport(wrappingPem: string, material: Buffer, oaepHash = 'sha256'): string {
  const ephemeral = randomBytes(32);
  const kwp = createCipheriv('id-aes256-wrap-pad', ephemeral, Buffer.from('a65959a6', 'hex'));
  const wrappedMaterial = Buffer.concat([kwp.update(material), kwp.final()]);
  const wrappedKey = publicEncrypt({ key: wrappingPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, ephemeral);
  return Buffer.concat([wrappedKey, wrappedMaterial]).toString('base64');
}

let shared: { t: TransitHarness; wrappingPem: string } | undefined;

/** Returns the mount shared by the import tests, because generating the RSA-4096 wrapping key is slow. */
async function importMount(): Promise<{ t: TransitHarness; wrappingPem: string }> {
  if (shared) return shared;
  const t = await mountTransit();
  const { public_key } = await t.read('wrapping_key');
  shared = { t, wrappingPem: public_key };
  return shared;
}

test('wrapping key is a stable RSA-4096 public key', async () => {
  const { t, wrappingPem } = await importMount();
  assert.match(wrappingPem, /^-----BEGIN PUBLIC KEY-----/);
  assert.equal((await t.read('wrapping_key')).public_key, wrappingPem);
  const { createPublicKey } = await import('node:crypto');
  assert.equal(createPublicKey(wrappingPem).asymmetricKeyDetails!.modulusLength, 4096);
});

test('import an AES key and decrypt locally', async () => {
  const { t, wrappingPem } = await importMount();
  const aesKey = randomBytes(32);
  const imported = await t.write('keys/imported-aes/import', { ciphertext: wrapForImport(wrappingPem, aesKey), type: 'aes256-gcm96', exportable: true });
  assert.equal(imported.imported_key, true);

  const { ciphertext } = await t.write('encrypt/imported-aes', { plaintext: b64('byok') });
  const payload = Buffer.from(ciphertext.split(':')[2], 'base64');
  const decipher = createDecipheriv('aes-256-gcm', aesKey, payload.subarray(0, 12));
  decipher.setAuthTag(payload.subarray(payload.length - 16));
  assert.equal(Buffer.concat([decipher.update(payload.subarray(12, payload.length - 16)), decipher.final()]).toString(), 'byok');
  assert.equal((await t.read('export/encryption-key/imported-aes/1')).keys['1'], aesKey.toString('base64'));

  await assert.rejects(t.write('keys/imported-aes/import', { ciphertext: wrapForImport(wrappingPem, aesKey) }), /already exists/);
  await assert.rejects(t.write('keys/imported-aes/rotate'), /without allow_rotation/);
});

test('import an ECDSA key and import_version', async () => {
  const { t, wrappingPem } = await importMount();
  const first = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = first.privateKey.export({ format: 'der', type: 'pkcs8' });
  await t.write('keys/imported-ec/import', { ciphertext: wrapForImport(wrappingPem, der, 'sha512'), hash_function: 'SHA512', type: 'ecdsa-p256' });
  const { signature } = await t.write('sign/imported-ec', { input: b64('signed by import') });
  assert.equal(nodeVerify('sha256', Buffer.from('signed by import'), first.publicKey, Buffer.from(signature.split(':')[2], 'base64')), true);

  const second = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const updated = await t.write('keys/imported-ec/import_version', { ciphertext: wrapForImport(wrappingPem, second.privateKey.export({ format: 'der', type: 'pkcs8' })) });
  assert.equal(updated.latest_version, 2);
  const v2 = await t.write('sign/imported-ec', { input: b64('v2') });
  assert.match(v2.signature, /^vault:v2:/);
  assert.equal(nodeVerify('sha256', Buffer.from('v2'), second.publicKey, Buffer.from(v2.signature.split(':')[2], 'base64')), true);
});

test('import public key then its private key', async () => {
  const { t, wrappingPem } = await importMount();
  const pair = generateKeyPairSync('ed25519');
  const publicPem = pair.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  await t.write('keys/public-ed/import', { public_key: publicPem, type: 'ed25519' });
  const signature = `vault:v1:${Buffer.from(
    (await import('node:crypto')).sign(null, Buffer.from('external'), pair.privateKey),
  ).toString('base64')}`;
  assert.equal((await t.write('verify/public-ed', { input: b64('external'), signature })).valid, true);
  await assert.rejects(t.write('sign/public-ed', { input: b64('x') }), /only a public key/);

  const other = generateKeyPairSync('ed25519');
  await assert.rejects(
    t.write('keys/public-ed/import_version', { version: 1, ciphertext: wrapForImport(wrappingPem, other.privateKey.export({ format: 'der', type: 'pkcs8' })) }),
    /does not match the public key/,
  );
  await t.write('keys/public-ed/import_version', { version: 1, ciphertext: wrapForImport(wrappingPem, pair.privateKey.export({ format: 'der', type: 'pkcs8' })) });
  const signed = await t.write('sign/public-ed', { input: b64('x') });
  assert.equal(nodeVerify(null, Buffer.from('x'), pair.publicKey, Buffer.from(signed.signature.split(':')[2], 'base64')), true);
});

test('import rejects bad material', async () => {
  const { t, wrappingPem } = await importMount();
  await assert.rejects(t.write('keys/bad/import', { ciphertext: wrapForImport(wrappingPem, randomBytes(16)), type: 'aes256-gcm96' }), /expected 32 bytes, got 16/);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'der', type: 'pkcs8' });
  await assert.rejects(t.write('keys/bad/import', { ciphertext: wrapForImport(wrappingPem, rsa), type: 'ecdsa-p256' }), /does not match type ecdsa-p256/);
  await assert.rejects(t.write('keys/bad/import', { ciphertext: wrapForImport(wrappingPem, randomBytes(32)), hash_function: 'SHA1' }), /not wrapped with this mount's wrapping key/);
  await assert.rejects(t.write('keys/bad/import', { ciphertext: b64('short') }), /expected 512 bytes/);
  await assert.rejects(t.write('keys/bad/import', { ciphertext: wrapForImport(wrappingPem, randomBytes(32)), hash_function: 'MD5' }), /unsupported hash_function/);
  await assert.rejects(t.write('keys/bad/import', { ciphertext: wrapForImport(wrappingPem, randomBytes(32)), convergent_encryption: true }), /not supported for imported keys/);
  await t.write('keys/generated');
  await assert.rejects(t.write('keys/generated/import_version', { ciphertext: wrapForImport(wrappingPem, randomBytes(32)) }), /does not accept imported versions/);
  assert.equal(await t.request('read', 'keys/bad'), null);
});

test('import rsa key and rotate when allowed', async () => {
  const { t, wrappingPem } = await importMount();
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await t.write('keys/imported-rsa/import', {
    ciphertext: wrapForImport(wrappingPem, pair.privateKey.export({ format: 'der', type: 'pkcs8' })),
    type: 'rsa-2048',
    allow_rotation: true,
  });
  const { ciphertext } = await t.write('encrypt/imported-rsa', { plaintext: b64('to rsa') });
  const plaintext = (await import('node:crypto')).privateDecrypt(
    { key: pair.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    Buffer.from(ciphertext.split(':')[2], 'base64'),
  );
  assert.equal(plaintext.toString(), 'to rsa');
  await t.write('keys/imported-rsa/rotate');
  await assert.rejects(
    t.write('keys/imported-rsa/import_version', { ciphertext: wrapForImport(wrappingPem, pair.privateKey.export({ format: 'der', type: 'pkcs8' })) }),
    /does not accept imported versions/,
  );
  await t.close();
});

test('export key types and versions', async () => {
  const t = await mountTransit();
  await t.write('keys/aes', { exportable: true });
  await t.write('keys/aes/rotate');
  await t.write('keys/ec', { type: 'ecdsa-p256', exportable: true });
  await t.write('keys/ed', { type: 'ed25519', exportable: true });
  await t.write('keys/rsa', { type: 'rsa-2048', exportable: true });
  await t.write('keys/locked', { type: 'ecdsa-p256' });

  const all = await t.read('export/encryption-key/aes');
  assert.deepEqual(Object.keys(all.keys), ['1', '2']);
  const latest = await t.read('export/encryption-key/aes/latest');
  assert.deepEqual(Object.keys(latest.keys), ['2']);

  const ec = await t.read('export/signing-key/ec/1');
  assert.match(ec.keys['1'], /^-----BEGIN EC PRIVATE KEY-----/);
  const rsa = await t.read('export/encryption-key/rsa/1');
  assert.match(rsa.keys['1'], /^-----BEGIN RSA PRIVATE KEY-----/);
  assert.equal(createPrivateKey(rsa.keys['1']).asymmetricKeyType, 'rsa');

  const ed = Buffer.from((await t.read('export/signing-key/ed/1')).keys['1'], 'base64');
  assert.equal(ed.length, 64);
  assert.equal(ed.subarray(32).toString('base64'), (await t.read('keys/ed')).keys['1'].public_key);

  const publicOnly = await t.read('export/public-key/locked/1');
  assert.match(publicOnly.keys['1'], /^-----BEGIN PUBLIC KEY-----/);
  await assert.rejects(t.read('export/signing-key/locked/1'), /not exportable/);
  await assert.rejects(t.read('export/signing-key/aes/1'), /does not apply to key type/);
  await assert.rejects(t.read('export/public-key/aes/1'), /does not apply/);
  await assert.rejects(t.read('export/encryption-key/aes/7'), /no such version/);
  assert.equal(await t.request('read', 'export/encryption-key/missing'), null);
  await t.close();
});

test('backup and restore', async () => {
  const t = await mountTransit();
  await t.write('keys/k', { derived: true, exportable: true });
  await t.write('keys/k/rotate');
  const { ciphertext } = await t.write('encrypt/k', { plaintext: b64('backed up'), context: b64('c'), key_version: 1 });
  await assert.rejects(t.read('backup/k'), /does not allow plaintext backup/);
  await t.write('keys/k/config', { allow_plaintext_backup: true });
  const { backup } = await t.read('backup/k');

  const other = await mountTransit();
  await other.write('restore', { backup });
  assert.equal((await other.write('decrypt/k', { ciphertext, context: b64('c') })).plaintext, b64('backed up'));
  assert.equal((await other.read('keys/k')).latest_version, 2);
  await assert.rejects(other.write('restore', { backup }), /already exists/);
  await other.write('restore', { backup, force: true });
  await other.write('restore/renamed', { backup });
  assert.equal((await other.read('keys/renamed')).name, 'renamed');
  assert.equal((await other.write('decrypt/renamed', { ciphertext, context: b64('c') })).plaintext, b64('backed up'));

  await assert.rejects(other.write('restore', { backup: b64('{"policy":{}}') }), /invalid backup/);
  await assert.rejects(other.write('restore', { backup: '!!!' }), /invalid backup/);
  await assert.rejects(other.write('restore', {}), /missing required field "backup"/);
  await t.write('keys/plain');
  await assert.rejects(t.read('backup/plain'), /not exportable/);
  await t.close();
  await other.close();
});
