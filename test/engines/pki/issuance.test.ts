import 'reflect-metadata';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { describe, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { BadRequestError } from '../../../src/errors.js';
import { LONG_TTL, mountPki, type PkiHarness } from './harness.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

async function withRoot(options: Record<string, unknown> = {}): Promise<{ pki: PkiHarness; root: Record<string, any> }> {
  const pki = await mountPki();
  const root = await pki.write('root/generate/internal', { common_name: 'Test Root', key_type: 'ec', ttl: LONG_TTL, ...options });
  return { pki, root };
}

/** Makes a CSR with a fresh key of the given algorithm. */
async function makeCsr(name: string, algorithm: RsaHashedKeyGenParams | EcKeyGenParams, sans: string[] = []): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  const extensions = sans.length ? [new x509.SubjectAlternativeNameExtension(sans.map((value) => ({ type: 'dns' as const, value })))] : [];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name,
    keys,
    signingAlgorithm: algorithm.name === 'ECDSA' ? { name: 'ECDSA', hash: 'SHA-256' } : algorithm,
    extensions,
  });
  return csr.toString('pem');
}

const RSA_1024 = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' };

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof BadRequestError, `expected a 400, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('pki root and issuers', () => {
  test('root generate returns Vault fields', async () => {
    const { root } = await withRoot();
    assert.match(root.certificate, /^-----BEGIN CERTIFICATE-----/);
    assert.equal(root.issuing_ca, root.certificate);
    assert.match(root.serial_number, /^([0-9a-f]{2}:)+[0-9a-f]{2}$/);
    assert.equal(typeof root.expiration, 'number');
    assert.equal(typeof root.issuer_id, 'string');
    assert.equal(root.private_key, undefined);

    const cert = new x509.X509Certificate(root.certificate);
    assert.equal(cert.subject, 'CN=Test Root');
    assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.ca, true);
  });

  test('exported root returns its key', async () => {
    for (const [keyType, header] of [['rsa', 'RSA PRIVATE KEY'], ['ec', 'EC PRIVATE KEY'], ['ed25519', 'PRIVATE KEY']] as const) {
      const pki = await mountPki();
      const root = await pki.write('root/generate/exported', { common_name: `${keyType} root`, key_type: keyType, ttl: '24h' });
      assert.equal(root.private_key_type, keyType);
      assert.ok(root.private_key.startsWith(`-----BEGIN ${header}-----`), root.private_key.slice(0, 40));
    }
  });

  test('root options reach the certificate', async () => {
    const { root } = await withRoot({
      organization: 'Acme',
      ou: 'Platform',
      country: 'DE',
      max_path_length: 1,
      permitted_dns_domains: 'mesh.local',
      alt_names: 'ca.mesh.local',
    });
    const cert = new x509.X509Certificate(root.certificate);
    assert.equal(cert.subjectName.getField('O')[0], 'Acme');
    assert.equal(cert.subjectName.getField('OU')[0], 'Platform');
    assert.equal(cert.subjectName.getField('C')[0], 'DE');
    assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.pathLength, 1);
    assert.ok(cert.getExtension('2.5.29.30'), 'nameConstraints missing');
    const sans = cert.getExtension(x509.SubjectAlternativeNameExtension)!.names.items.map((name) => name.value);
    assert.deepEqual(sans, ['Test Root', 'ca.mesh.local']);
  });

  test('issuers list, rename and default', async () => {
    const { pki, root } = await withRoot();
    const second = await pki.write('root/generate/internal', { common_name: 'Second Root', key_type: 'ec', ttl: '48h', issuer_name: 'second' });
    const listed = await pki.request('list', 'issuers/');
    assert.deepEqual(new Set(listed?.data?.keys as string[]), new Set([root.issuer_id, second.issuer_id]));
    assert.equal((listed?.data?.key_info as any)[root.issuer_id].is_default, true);

    await pki.write('config/issuers', { default: 'second' });
    assert.equal((await pki.read('config/issuers')).default, second.issuer_id);

    const renamed = await pki.write(`issuer/${root.issuer_id}`, { issuer_name: 'first', leaf_not_after_behavior: 'truncate' });
    assert.equal(renamed.issuer_name, 'first');
    assert.equal((await pki.read('issuer/first')).leaf_not_after_behavior, 'truncate');
    await rejects(pki.write('issuer/first', { leaf_not_after_behavior: 'sometimes' }), /leaf_not_after_behavior/);

    const keys = await pki.request('list', 'keys/');
    assert.equal((keys?.data?.keys as string[]).length, 2);
  });

  test('unknown issuer is a 400', async () => {
    const { pki } = await withRoot();
    await pki.write('roles/web', { allow_any_name: true, key_type: 'ec' });
    await rejects(pki.write('issue/web', { common_name: 'a.example.com', issuer_ref: 'nope' }), /unknown issuer "nope"/);
  });

  test('delete root removes issuers and keys', async () => {
    const { pki } = await withRoot();
    assert.equal(await pki.request('delete', 'root'), null);
    assert.equal((await pki.request('list', 'issuers/'))?.data?.keys?.length ?? 0, 0);
    await rejects(pki.request('read', 'ca'), /no default issuer/);
  });

  test('config/ca imports a bundle', async () => {
    const source = await mountPki();
    const root = await source.write('root/generate/exported', { common_name: 'Imported', key_type: 'rsa', ttl: '24h' });
    const pki = await mountPki();
    const imported = await pki.write('config/ca', { pem_bundle: `${root.private_key}\n${root.certificate}` });
    assert.equal(imported.imported_issuers.length, 1);
    assert.equal(imported.imported_keys.length, 1);
    assert.equal(imported.mapping[imported.imported_issuers[0]], imported.imported_keys[0]);

    await pki.write('roles/any', { allow_any_name: true, key_type: 'rsa' });
    const leaf = await pki.write('issue/any', { common_name: 'svc.internal', ttl: '1h' });
    assert.equal(await new x509.X509Certificate(leaf.certificate).verify({ publicKey: new x509.X509Certificate(root.certificate).publicKey, signatureOnly: true }), true);

    const again = await pki.write('config/ca', { pem_bundle: root.certificate });
    assert.equal(again.imported_issuers, null);
    assert.equal(again.existing_issuers.length, 1);
  });

  test('set-signed rejects a foreign certificate', async () => {
    const { pki, root } = await withRoot();
    const other = await mountPki();
    await other.write('intermediate/generate/internal', { common_name: 'Int', key_type: 'ec' });
    await rejects(other.write('intermediate/set-signed', { certificate: root.certificate }), /does not match any key/);
    await rejects(pki.write('intermediate/set-signed', { certificate: 'not pem' }), /missing PEM data/);
  });
});

describe('pki roles and issuance', () => {
  test('role read returns defaults', async () => {
    const { pki } = await withRoot();
    await pki.write('roles/web', { allowed_domains: ['example.com'], allow_subdomains: true, ttl: '1h', max_ttl: '2h' });
    const role = await pki.read('roles/web');
    assert.equal(role.ttl, 3600);
    assert.equal(role.max_ttl, 7200);
    assert.equal(role.key_type, 'rsa');
    assert.deepEqual(role.key_usage, ['DigitalSignature', 'KeyAgreement', 'KeyEncipherment']);
    assert.equal(role.server_flag, true);
    assert.deepEqual((await pki.request('list', 'roles/'))?.data?.keys, ['web']);
  });

  test('issue honours role names', async () => {
    const { pki } = await withRoot();
    await pki.write('roles/web', { allowed_domains: 'example.com', allow_subdomains: true, key_type: 'ec', ttl: '1h' });
    const leaf = await pki.write('issue/web', { common_name: 'api.example.com', alt_names: 'www.example.com', ip_sans: '10.0.0.1' });
    assert.equal(leaf.private_key_type, 'ec');
    assert.equal(leaf.ca_chain.length, 1);
    const cert = new x509.X509Certificate(leaf.certificate);
    const sans = cert.getExtension(x509.SubjectAlternativeNameExtension)!.names.items.map((name) => `${name.type}:${name.value}`);
    assert.deepEqual(sans, ['dns:api.example.com', 'dns:www.example.com', 'ip:10.0.0.1']);
    const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
    assert.equal(lifetime, (3600 + 30) * 1000);

    const stored = await pki.read(`cert/${leaf.serial_number}`);
    assert.equal(stored.certificate.trim(), leaf.certificate.trim());
    assert.equal(stored.revocation_time, 0);
  });

  test('names outside the role are rejected', async () => {
    const { pki } = await withRoot();
    await pki.write('roles/web', { allowed_domains: 'example.com', allow_subdomains: true, allow_ip_sans: false, key_type: 'ec', allowed_uri_sans: 'spiffe://cluster.local/ns/prod/*' });
    await rejects(pki.write('issue/web', { common_name: 'evil.org' }), /common name "evil\.org" is not allowed by role "web": it is not permitted by allowed_domains \["example\.com"\]/);
    await rejects(pki.write('issue/web', { common_name: 'example.com' }), /allow_bare_domains=false/);
    await rejects(pki.write('issue/web', { common_name: 'a.example.com', alt_names: 'b.evil.org' }), /subject alternative name "b\.evil\.org"/);
    await rejects(pki.write('issue/web', { common_name: 'a.example.com', ip_sans: '10.0.0.1' }), /IP SAN "10\.0\.0\.1" is not allowed by role "web": the role sets allow_ip_sans=false/);
    await rejects(pki.write('issue/web', { common_name: 'a.example.com', uri_sans: 'spiffe://cluster.local/ns/dev/sa/x' }), /URI SAN .* matches none of allowed_uri_sans/);
    await rejects(pki.write('issue/web', { common_name: 'bad_host!.example.com' }), /enforce_hostnames=true/);
    await rejects(pki.write('issue/web', {}), /missing common_name: role "web" sets require_cn=true/);
    await rejects(pki.write('issue/nope', { common_name: 'a.example.com' }), /unknown role "nope"/);
    assert.deepEqual((await pki.request('list', 'certs/'))?.data?.keys, [await rootSerial(pki)]);
  });

  test('glob domains, localhost and SPIFFE URIs', async () => {
    const { pki } = await withRoot();
    await pki.write('roles/mesh', { allowed_domains: '*.svc.cluster.local', allow_glob_domains: true, allowed_uri_sans: 'spiffe://cluster.local/*', key_type: 'ec' });
    const leaf = await pki.write('issue/mesh', { common_name: 'web.ns.svc.cluster.local', alt_names: 'localhost', uri_sans: 'spiffe://cluster.local/ns/ns/sa/web' });
    const sans = new x509.X509Certificate(leaf.certificate).getExtension(x509.SubjectAlternativeNameExtension)!.names.items.map((name) => name.value);
    assert.deepEqual(sans, ['web.ns.svc.cluster.local', 'localhost', 'spiffe://cluster.local/ns/ns/sa/web']);
  });

  test('ttl is capped by max_ttl', async () => {
    const { pki } = await withRoot();
    await pki.write('roles/short', { allow_any_name: true, key_type: 'ec', max_ttl: '1h' });
    const response = await pki.request('update', 'issue/short', { common_name: 'x.internal', ttl: '5h' });
    assert.match(response!.warnings![0]!, /capping/);
    const cert = new x509.X509Certificate(String(response!.data!.certificate));
    assert.equal(cert.notAfter.getTime() - cert.notBefore.getTime(), (3600 + 30) * 1000);
  });

  test('ttl beyond the issuer follows leaf_not_after_behavior', async () => {
    const pki = await mountPki();
    const root = await pki.write('root/generate/internal', { common_name: 'Short Root', key_type: 'ec', ttl: '2h' });
    await pki.write('roles/any', { allow_any_name: true, key_type: 'ec', max_ttl: '100h' });
    const before = (await pki.request('list', 'certs/'))?.data?.keys;
    await rejects(pki.write('issue/any', { common_name: 'x.internal', ttl: '10h' }), /beyond the issuer's NotAfter/);
    assert.deepEqual((await pki.request('list', 'certs/'))?.data?.keys, before);

    await pki.write(`issuer/${root.issuer_id}`, { leaf_not_after_behavior: 'truncate' });
    const truncated = await pki.write('issue/any', { common_name: 'x.internal', ttl: '10h' });
    assert.equal(truncated.expiration, root.expiration);

    await pki.write(`issuer/${root.issuer_id}`, { leaf_not_after_behavior: 'permit' });
    const permitted = await pki.write('issue/any', { common_name: 'x.internal', ttl: '10h' });
    assert.ok(permitted.expiration > root.expiration);
  });

  test('formats der and pem_bundle', async () => {
    const { pki } = await withRoot();
    await pki.write('roles/any', { allow_any_name: true, key_type: 'rsa' });
    const der = await pki.write('issue/any', { common_name: 'x.internal', format: 'der' });
    assert.doesNotMatch(der.certificate, /BEGIN/);
    assert.equal(new x509.X509Certificate(Buffer.from(der.certificate, 'base64')).subject, 'CN=x.internal');
    const bundle = await pki.write('issue/any', { common_name: 'x.internal', format: 'pem_bundle' });
    assert.match(bundle.certificate, /BEGIN RSA PRIVATE KEY[\s\S]+BEGIN CERTIFICATE[\s\S]+BEGIN CERTIFICATE/);
    const pkcs8 = await pki.write('issue/any', { common_name: 'x.internal', private_key_format: 'pkcs8' });
    assert.match(pkcs8.private_key, /^-----BEGIN PRIVATE KEY-----/);
    await rejects(pki.write('issue/any', { common_name: 'x.internal', format: 'xml' }), /invalid format "xml"/);
  });

  test('no_store leaves no certificate', async () => {
    const { pki } = await withRoot();
    await pki.write('roles/ephemeral', { allow_any_name: true, key_type: 'ec', no_store: true });
    const leaf = await pki.write('issue/ephemeral', { common_name: 'x.internal' });
    assert.equal(await pki.request('read', `cert/${leaf.serial_number}`), null);
    await rejects(pki.write('revoke', { serial_number: leaf.serial_number }), /not found/);
    const revoked = await pki.write('revoke', { certificate: leaf.certificate });
    assert.equal(revoked.state, 'revoked');
  });

  test('sign uses the CSR key and names', async () => {
    const { pki } = await withRoot();
    await pki.write('roles/web', { allowed_domains: 'example.com', allow_subdomains: true, key_type: 'ec' });
    const csr = await makeCsr('CN=svc.example.com', EC_P256, ['alt.example.com']);
    const signed = await pki.write('sign/web', { csr });
    assert.equal(signed.private_key, undefined);
    const cert = new x509.X509Certificate(signed.certificate);
    assert.equal(cert.subject, 'CN=svc.example.com');
    assert.equal(Buffer.from(cert.publicKey.rawData).equals(Buffer.from(new x509.Pkcs10CertificateRequest(csr).publicKey.rawData)), true);
    const sans = cert.getExtension(x509.SubjectAlternativeNameExtension)!.names.items.map((name) => name.value);
    assert.deepEqual(sans, ['svc.example.com', 'alt.example.com']);

    const outside = await makeCsr('CN=svc.example.com', EC_P256, ['alt.evil.org']);
    await rejects(pki.write('sign/web', { csr: outside }), /"alt\.evil\.org" is not allowed/);
  });

  test('bad CSRs are rejected, nothing stored', async () => {
    const { pki } = await withRoot();
    await pki.write('roles/rsa', { allow_any_name: true, key_type: 'rsa', key_bits: 2048 });
    const before = (await pki.request('list', 'certs/'))?.data?.keys;
    await rejects(pki.write('sign/rsa', { csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----' }), /invalid csr/);
    await rejects(pki.write('sign/rsa', { csr: 'hello' }), /invalid csr/);
    await rejects(pki.write('sign/rsa', {}), /missing csr/);
    await rejects(pki.write('sign/rsa', { csr: await makeCsr('CN=small.internal', RSA_1024) }), /RSA 1024 bits, smaller than the 2048 bits/);
    await rejects(pki.write('sign/rsa', { csr: await makeCsr('CN=ec.internal', EC_P256) }), /key type is "ec" but role "rsa" requires key_type "rsa"/);
    assert.deepEqual((await pki.request('list', 'certs/'))?.data?.keys, before);
  });

  test('sign-verbatim keeps the CSR subject', async () => {
    const { pki } = await withRoot();
    const csr = await makeCsr('CN=verbatim.test, O=Example', EC_P256, ['anything.test']);
    const signed = await pki.write('sign-verbatim', { csr, ttl: '1h', ext_key_usage: 'ClientAuth' });
    const cert = new x509.X509Certificate(signed.certificate);
    assert.equal(cert.subject, 'CN=verbatim.test, O=Example');
    assert.deepEqual([...(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])], ['1.3.6.1.5.5.7.3.2']);
  });

  test('intermediate chain links to the root', async () => {
    const { pki, root } = await withRoot({ max_path_length: 1 });
    const int = await mountPki();
    const csr = await int.write('intermediate/generate/exported', { common_name: 'Int CA', key_type: 'ec' });
    assert.match(csr.csr, /BEGIN CERTIFICATE REQUEST/);
    assert.equal(csr.private_key_type, 'ec');
    const signed = await pki.write('root/sign-intermediate', { csr: csr.csr, ttl: '100h' });
    assert.equal(new x509.X509Certificate(signed.certificate).getExtension(x509.BasicConstraintsExtension)?.pathLength, 0);
    const imported = await int.write('intermediate/set-signed', { certificate: `${signed.certificate}\n${root.certificate}` });
    assert.equal(imported.imported_issuers.length, 2);

    await int.write('roles/any', { allow_any_name: true, key_type: 'ec' });
    const leaf = await int.write('issue/any', { common_name: 'deep.internal', ttl: '1h' });
    assert.equal(leaf.ca_chain.length, 2);
    assert.equal(leaf.issuing_ca.trim(), signed.certificate.trim());

    const chain = await new x509.X509ChainBuilder({ certificates: [new x509.X509Certificate(signed.certificate), new x509.X509Certificate(root.certificate)] }).build(new x509.X509Certificate(leaf.certificate));
    assert.equal(chain.length, 3);

    await rejects(int.write('root/sign-intermediate', { csr: csr.csr, ttl: '10h' }), /max_path_length 0/);
  });
});

async function rootSerial(pki: PkiHarness): Promise<string> {
  const ca = await pki.read('cert/ca');
  return x509Serial(ca.certificate);
}

function x509Serial(pem: string): string {
  return new x509.X509Certificate(pem).serialNumber.toLowerCase().match(/../g)!.join(':');
}
