import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createHmac, createPublicKey, verify as nodeVerify, constants } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, importJWK, importSPKI } from 'jose';
import { requireService } from '../../helpers/services.js';
import { b64, mountTransit, type TransitHarness } from './harness.js';

const opensslAvailable = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

function signatureBytes(signature: string, encoding: BufferEncoding = 'base64'): Buffer {
  return Buffer.from(signature.split(':')[2], encoding);
}

/** Verifies a DER or RSA signature with the openssl CLI; returns its output. */
function opensslVerify(publicPem: string, data: Buffer, signature: Buffer, digest: string, extra: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-transit-'));
  writeFileSync(join(dir, 'pub.pem'), publicPem);
  writeFileSync(join(dir, 'data.bin'), data);
  writeFileSync(join(dir, 'sig.bin'), signature);
  const result = spawnSync('openssl', ['dgst', `-${digest}`, '-verify', join(dir, 'pub.pem'), ...extra, '-signature', join(dir, 'sig.bin'), join(dir, 'data.bin')], { encoding: 'utf8' });
  return `${result.stdout}${result.stderr}`.trim();
}

async function publicPem(t: TransitHarness, name: string): Promise<string> {
  return (await t.read(`keys/${name}`)).keys['1'].public_key;
}

test('ECDSA signatures verify with node:crypto and openssl', { skip: !requireService('openssl', opensslAvailable, 'the openssl CLI is not installed') }, async () => {
  const t = await mountTransit();
  const data = Buffer.from('message to sign');
  for (const [type, digest, algorithm] of [['ecdsa-p256', 'sha256', 'sha2-256'], ['ecdsa-p384', 'sha384', 'sha2-384'], ['ecdsa-p521', 'sha512', 'sha2-512']]) {
    await t.write(`keys/${type}`, { type });
    const { signature } = await t.write(`sign/${type}/${algorithm}`, { input: data.toString('base64') });
    assert.match(signature, /^vault:v1:/);
    const pem = await publicPem(t, type);
    assert.equal(nodeVerify(digest, data, pem, signatureBytes(signature)), true, type);
    assert.equal(opensslVerify(pem, data, signatureBytes(signature), digest), 'Verified OK', type);
    assert.equal((await t.write(`verify/${type}/${algorithm}`, { input: data.toString('base64'), signature })).valid, true);
    assert.equal((await t.write(`verify/${type}/${algorithm}`, { input: b64('other'), signature })).valid, false);
  }
  await t.close();
});

test('RSA signatures verify with node:crypto and openssl', { skip: !requireService('openssl', opensslAvailable, 'the openssl CLI is not installed') }, async () => {
  const t = await mountTransit();
  await t.write('keys/rsa', { type: 'rsa-2048' });
  const pem = await publicPem(t, 'rsa');
  const data = Buffer.from('rsa message');
  const input = data.toString('base64');

  const pss = await t.write('sign/rsa/sha2-256', { input });
  const pssBytes = signatureBytes(pss.signature);
  assert.equal(nodeVerify('sha256', data, { key: pem, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, pssBytes), true);
  assert.equal(opensslVerify(pem, data, pssBytes, 'sha256', ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:auto']), 'Verified OK');

  const pkcs1 = await t.write('sign/rsa', { input, hash_algorithm: 'sha2-512', signature_algorithm: 'pkcs1v15' });
  assert.equal(nodeVerify('sha512', data, pem, signatureBytes(pkcs1.signature)), true);
  assert.equal(opensslVerify(pem, data, signatureBytes(pkcs1.signature), 'sha512'), 'Verified OK');

  const hashSalt = await t.write('sign/rsa', { input, salt_length: 'hash' });
  assert.equal(nodeVerify('sha256', data, { key: pem, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signatureBytes(hashSalt.signature)), true);
  assert.equal((await t.write('verify/rsa', { input, signature: hashSalt.signature, salt_length: 'hash' })).valid, true);
  assert.equal((await t.write('verify/rsa', { input, signature: pkcs1.signature, hash_algorithm: 'sha2-512', signature_algorithm: 'pkcs1v15' })).valid, true);
  assert.equal((await t.write('verify/rsa', { input, signature: pkcs1.signature, hash_algorithm: 'sha2-512' })).valid, false);
  await assert.rejects(t.write('sign/rsa', { input, salt_length: '9999' }), /invalid salt_length/);
  await t.close();
});

test('RSA prehashed input', async () => {
  const t = await mountTransit();
  await t.write('keys/rsa', { type: 'rsa-2048' });
  const pem = await publicPem(t, 'rsa');
  const data = Buffer.from('prehashed message');
  const digest = createHash('sha256').update(data).digest().toString('base64');

  for (const signature_algorithm of ['pss', 'pkcs1v15']) {
    const { signature } = await t.write('sign/rsa', { input: digest, prehashed: true, signature_algorithm });
    const padding = signature_algorithm === 'pss' ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING;
    assert.equal(nodeVerify('sha256', data, { key: pem, padding, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, signatureBytes(signature)), true, signature_algorithm);
    assert.equal((await t.write('verify/rsa', { input: digest, prehashed: true, signature_algorithm, signature })).valid, true);
    // The same signature verifies over the message when Coffer hashes it.
    assert.equal((await t.write('verify/rsa', { input: data.toString('base64'), signature_algorithm, signature })).valid, true);
  }
  await assert.rejects(t.write('sign/rsa', { input: b64('short'), prehashed: true }), /32-byte digest/);
  await assert.rejects(t.write('sign/rsa', { input: digest, hash_algorithm: 'none' }), /hash_algorithm none requires/);
  const raw = await t.write('sign/rsa', { input: digest, hash_algorithm: 'none', prehashed: true, signature_algorithm: 'pkcs1v15' });
  assert.equal((await t.write('verify/rsa', { input: digest, hash_algorithm: 'none', prehashed: true, signature_algorithm: 'pkcs1v15', signature: raw.signature })).valid, true);
  await t.close();
});

test('ed25519 signatures verify with jose', async () => {
  const t = await mountTransit();
  await t.write('keys/ed', { type: 'ed25519' });
  const x = Buffer.from((await t.read('keys/ed')).keys['1'].public_key, 'base64').toString('base64url');
  const publicKey = await importJWK({ kty: 'OKP', crv: 'Ed25519', x }, 'EdDSA');

  const header = Buffer.from(JSON.stringify({ alg: 'EdDSA' })).toString('base64url');
  const payload = Buffer.from('{"sub":"coffer"}').toString('base64url');
  const signingInput = Buffer.from(`${header}.${payload}`);
  const { signature } = await t.write('sign/ed', { input: signingInput.toString('base64') });
  const jws = `${header}.${payload}.${signatureBytes(signature).toString('base64url')}`;
  const verified = await compactVerify(jws, publicKey);
  assert.equal(Buffer.from(verified.payload).toString(), '{"sub":"coffer"}');
  assert.equal((await t.write('verify/ed', { input: signingInput.toString('base64'), signature })).valid, true);
  await assert.rejects(t.write('sign/ed', { input: b64('x'), prehashed: true }), /not supported for ed25519/);
  await t.close();
});

test('derived ed25519 signs per context', async () => {
  const t = await mountTransit();
  await t.write('keys/ed', { type: 'ed25519', derived: true });
  await assert.rejects(t.write('sign/ed', { input: b64('x') }), /missing context/);
  const one = await t.write('sign/ed', { input: b64('x'), context: b64('one') });
  const again = await t.write('sign/ed', { input: b64('x'), context: b64('one') });
  assert.equal(one.signature, again.signature);
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(one.publickey, 'base64').toString('base64url') }, format: 'jwk' });
  assert.equal(nodeVerify(null, Buffer.from('x'), publicKey, signatureBytes(one.signature)), true);
  assert.equal((await t.write('verify/ed', { input: b64('x'), signature: one.signature, context: b64('one') })).valid, true);
  assert.equal((await t.write('verify/ed', { input: b64('x'), signature: one.signature, context: b64('two') })).valid, false);
  const read = await t.read('keys/ed', { context: b64('one') });
  assert.equal(read.keys['1'].public_key, one.publickey);
  await t.close();
});

test('JWS-marshalled ECDSA verifies as JWS', async () => {
  const t = await mountTransit();
  await t.write('keys/ec', { type: 'ecdsa-p256' });
  const publicKey = await importSPKI(await publicPem(t, 'ec'), 'ES256');
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ iss: 'coffer' })).toString('base64url');
  const input = Buffer.from(`${header}.${payload}`).toString('base64');

  const { signature } = await t.write('sign/ec', { input, marshaling_algorithm: 'jws' });
  const jwsSignature = signature.split(':')[2];
  assert.match(jwsSignature, /^[A-Za-z0-9_-]+$/);
  assert.equal(Buffer.from(jwsSignature, 'base64url').length, 64);
  const verified = await compactVerify(`${header}.${payload}.${jwsSignature}`, publicKey);
  assert.equal(JSON.parse(Buffer.from(verified.payload).toString()).iss, 'coffer');
  assert.equal((await t.write('verify/ec', { input, signature, marshaling_algorithm: 'jws' })).valid, true);
  await assert.rejects(t.write('sign/ec', { input, marshaling_algorithm: 'pem' }), /use asn1 or jws/);
  await assert.rejects(t.write('sign/ec', { input, prehashed: true }), /prehashed input is not supported for ECDSA/);
  await t.close();
});

test('hmac and hmac verification', async () => {
  const t = await mountTransit();
  await t.write('keys/k', { exportable: true });
  const input = b64('hmac me');
  const { hmac, key_version } = await t.write('hmac/k/sha2-512', { input });
  assert.equal(key_version, 1);
  const hmacKey = Buffer.from((await t.read('export/hmac-key/k/1')).keys['1'], 'base64');
  const expected = createHmac('sha512', hmacKey).update('hmac me').digest('base64');
  assert.equal(hmac, `vault:v1:${expected}`);

  assert.equal((await t.write('verify/k/sha2-512', { input, hmac })).valid, true);
  assert.equal((await t.write('verify/k', { input, hmac, hash_algorithm: 'sha2-512' })).valid, true);
  assert.equal((await t.write('verify/k', { input, hmac })).valid, false);
  assert.equal((await t.write('verify/k/sha2-512', { input: b64('other'), hmac })).valid, false);

  const batch = await t.request('update', 'hmac/k', { batch_input: [{ input }, {}, { input: '' }] });
  const results = batch!.data!.batch_results as Record<string, string>[];
  assert.match(results[0].hmac, /^vault:v1:/);
  assert.equal(results[1].error, 'missing input for HMAC');
  assert.match(results[2].hmac, /^vault:v1:/);
  await assert.rejects(t.write('hmac/k/md5', { input }), /unsupported hash algorithm "md5"/);
  await t.close();
});

test('sign and verify reject wrong key types and bad input', async () => {
  const t = await mountTransit();
  await t.write('keys/aes');
  await t.write('keys/ec', { type: 'ecdsa-p256' });
  await assert.rejects(t.write('sign/aes', { input: b64('x') }), /does not support signing/);
  await assert.rejects(t.write('sign/ec', { input: '***' }), /invalid input: not valid base64/);
  await assert.rejects(t.write('sign/ec', {}), /missing input to sign/);
  await assert.rejects(t.write('sign/ec', { input: b64('x'), key_version: 2 }), /latest version/);
  await assert.rejects(t.write('verify/ec', { input: b64('x') }), /missing signature or hmac/);
  await assert.rejects(t.write('verify/ec', { input: b64('x'), signature: 'vault:v5:AAAA' }), /no such version/);
  await assert.rejects(t.write('verify/ec', { batch_input: [{ input: b64('x'), signature: 'vault:v1:AA==' }, { input: b64('x'), hmac: 'vault:v1:AA==' }] }), /either signature or hmac/);
  assert.equal((await t.write('verify/ec', { input: b64('x'), signature: 'vault:v1:AAAA' })).valid, false);

  await t.write('keys/ec/rotate');
  const old = await t.write('sign/ec', { input: b64('x'), key_version: 1 });
  await t.write('keys/ec/config', { min_decryption_version: 2 });
  await assert.rejects(t.write('verify/ec', { input: b64('x'), signature: old.signature }), /below min_decryption_version/);
  await t.close();
});

test('batch sign and verify', async () => {
  const t = await mountTransit();
  await t.write('keys/ed', { type: 'ed25519', derived: true });
  const signed = await t.request('update', 'sign/ed', {
    batch_input: [{ input: b64('a'), context: b64('c1') }, { input: b64('a'), context: b64('c2') }, {}],
  });
  assert.equal(signed!.status, 400);
  const results = signed!.data!.batch_results as Record<string, string>[];
  assert.ok(results[0].publickey);
  assert.notEqual(results[0].publickey, results[1].publickey);
  assert.equal(results[2].error, 'missing input to sign');

  const verified = await t.write('verify/ed', {
    batch_input: [
      { input: b64('a'), context: b64('c1'), signature: results[0].signature },
      { input: b64('a'), context: b64('c1'), signature: results[1].signature },
    ],
  });
  assert.deepEqual(verified.batch_results.map((r: { valid: boolean }) => r.valid), [true, false]);
  await t.close();
});
