import 'reflect-metadata';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { describe, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { generatePrivateKey, publicKeyOf } from '../../../src/engines/pki/keys.js';
import { cachedSigningKey, clearSigningCache, parsedCertificate } from '../../../src/engines/pki/signing-cache.js';
import { LONG_TTL, mountPki } from './harness.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' };

/** Signs with the cached key of `pem` and verifies the signature with the public key of `pem`. */
async function signsAs(signingKey: CryptoKey, pem: string): Promise<boolean> {
  const data = Buffer.from('signed bytes');
  const signature = await webcrypto.subtle.sign(ECDSA_SHA256, signingKey, data);
  const publicKey = await publicKeyOf(pem).export(webcrypto as unknown as Crypto);
  return webcrypto.subtle.verify(ECDSA_SHA256, publicKey, signature, data);
}

describe('pki signing cache', () => {
  test('same key imported once', async () => {
    const pem = await generatePrivateKey('ec', 256);
    const key = { type: 'ec' as const, bits: 256, privateKeyPem: pem };
    const [first, second] = await Promise.all([cachedSigningKey(key), cachedSigningKey({ ...key })]);
    assert.equal(first, second);
    assert.equal(first.extractable, false);
    assert.ok(await signsAs(first, pem));
  });

  test('changed key misses the cache', async () => {
    const oldPem = await generatePrivateKey('ec', 256);
    const newPem = await generatePrivateKey('ec', 256);
    const oldKey = await cachedSigningKey({ type: 'ec', bits: 256, privateKeyPem: oldPem });
    const newKey = await cachedSigningKey({ type: 'ec', bits: 256, privateKeyPem: newPem });
    assert.notEqual(oldKey, newKey);
    assert.ok(await signsAs(newKey, newPem));
    assert.ok(!(await signsAs(newKey, oldPem)));
  });

  test('clear drops imported keys', async () => {
    const key = { type: 'ec' as const, bits: 256, privateKeyPem: await generatePrivateKey('ec', 256) };
    const before = await cachedSigningKey(key);
    clearSigningCache();
    assert.notEqual(await cachedSigningKey(key), before);
  });

  test('bad key is not cached', async () => {
    const key = { type: 'ec' as const, bits: 256, privateKeyPem: 'not a key' };
    await assert.rejects(cachedSigningKey(key));
    await assert.rejects(cachedSigningKey(key));
  });

  test('certificate parsed once per PEM', async () => {
    const pki = await mountPki();
    const root = await pki.write('root/generate/internal', { common_name: 'Parse Root', key_type: 'ec', ttl: LONG_TTL });
    const parsed = parsedCertificate(root.certificate);
    assert.equal(parsedCertificate(root.certificate), parsed);
    assert.equal(parsed.subject, 'CN=Parse Root');
    assert.throws(() => parsedCertificate('not a certificate'));
  });

  test('issue after issuer replaced signs with new key', async () => {
    const pki = await mountPki();
    const first = await pki.write('root/generate/internal', { common_name: 'First Root', key_type: 'ec', ttl: LONG_TTL });
    await pki.write('roles/web', { allow_any_name: true, key_type: 'ec', ttl: '1h' });
    const before = new x509.X509Certificate((await pki.write('issue/web', { common_name: 'a.example' })).certificate);
    assert.ok(await before.verify({ publicKey: new x509.X509Certificate(first.certificate).publicKey, signatureOnly: true }));

    await pki.request('delete', 'root');
    const second = await pki.write('root/generate/internal', { common_name: 'Second Root', key_type: 'ec', ttl: LONG_TTL });
    const after = new x509.X509Certificate((await pki.write('issue/web', { common_name: 'b.example' })).certificate);
    const secondCert = new x509.X509Certificate(second.certificate);
    assert.equal(after.issuer, 'CN=Second Root');
    assert.ok(await after.verify({ publicKey: secondCert.publicKey, signatureOnly: true }));

    const authorityKeyId = after.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
    const subjectKeyId = secondCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    assert.equal(authorityKeyId, subjectKeyId);
  });
});
