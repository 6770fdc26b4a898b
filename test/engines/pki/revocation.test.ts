import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createHash, webcrypto } from 'node:crypto';
import { describe, test } from 'node:test';
import * as ocsp from '@peculiar/asn1-ocsp';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as asn1X509 from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { BadRequestError } from '../../../src/errors.js';
import { LONG_TTL, mountPki, type PkiHarness } from './harness.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

async function setup(): Promise<{ pki: PkiHarness; root: Record<string, any> }> {
  const pki = await mountPki();
  const root = await pki.write('root/generate/internal', { common_name: 'Revocation Root', key_type: 'ec', ttl: LONG_TTL });
  await pki.write('roles/any', { allow_any_name: true, key_type: 'ec', ttl: '1h' });
  return { pki, root };
}

async function crlOf(pki: PkiHarness): Promise<x509.X509Crl> {
  const response = await pki.request('read', 'crl');
  assert.equal(response?.rawBytes?.contentType, 'application/pkix-crl');
  return new x509.X509Crl(response!.rawBytes!.body);
}

function hexOf(serial: string): string {
  return serial.replace(/:/g, '');
}

/** Builds a DER OCSP request for a certificate with SHA-1 CertID hashes, as openssl does by default. */
function ocspRequest(issuerPem: string, serial: string): Buffer {
  const issuer = AsnConvert.parse(new x509.X509Certificate(issuerPem).rawData, asn1X509.Certificate);
  const sha1 = (data: ArrayBuffer) => new OctetString(createHash('sha1').update(Buffer.from(data)).digest());
  const certId = new ocsp.CertID({
    hashAlgorithm: new asn1X509.AlgorithmIdentifier({ algorithm: '1.3.14.3.2.26' }),
    issuerNameHash: sha1(AsnConvert.serialize(issuer.tbsCertificate.subject)),
    issuerKeyHash: sha1(issuer.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey),
    serialNumber: new Uint8Array(Buffer.from(hexOf(serial), 'hex')).buffer,
  });
  const request = new ocsp.OCSPRequest({ tbsRequest: new ocsp.TBSRequest({ requestList: [new ocsp.Request({ reqCert: certId })] }) });
  return Buffer.from(AsnConvert.serialize(request));
}

function singleStatus(body: Buffer): ocsp.CertStatus {
  const response = AsnConvert.parse(body, ocsp.OCSPResponse);
  assert.equal(response.responseStatus, ocsp.OCSPResponseStatus.successful);
  const basic = AsnConvert.parse(response.responseBytes!.response.buffer, ocsp.BasicOCSPResponse);
  return basic.tbsResponseData.responses[0]!.certStatus;
}

describe('pki revocation', () => {
  test('revoke adds the serial to the CRL', async () => {
    const { pki } = await setup();
    const leaf = await pki.write('issue/any', { common_name: 'a.internal' });
    assert.equal((await crlOf(pki)).entries.length, 0);

    const revoked = await pki.write('revoke', { serial_number: leaf.serial_number });
    assert.equal(revoked.state, 'revoked');
    assert.equal(typeof revoked.revocation_time, 'number');
    const crl = await crlOf(pki);
    assert.deepEqual(crl.entries.map((entry) => entry.serialNumber.toLowerCase()), [hexOf(leaf.serial_number)]);

    const again = await pki.write('revoke', { serial_number: leaf.serial_number.replace(/:/g, '-') });
    assert.equal(again.revocation_time, revoked.revocation_time);
    assert.equal((await crlOf(pki)).entries.length, 1);

    const cert = await pki.read(`cert/${leaf.serial_number}`);
    assert.equal(cert.revocation_time, revoked.revocation_time);
    assert.deepEqual((await pki.request('list', 'certs/revoked/'))?.data?.keys, [leaf.serial_number]);
  });

  test('CRL number grows and PEM matches', async () => {
    const { pki, root } = await setup();
    const first = await crlOf(pki);
    await pki.request('read', 'crl/rotate');
    const second = await crlOf(pki);
    const number = (crl: x509.X509Crl) => AsnConvert.parse(crl.getExtension('2.5.29.20')!.value, asn1X509.CRLNumber).value;
    assert.equal(number(second), number(first) + 1);
    assert.equal(await second.verify({ publicKey: new x509.X509Certificate(root.certificate) }), true);

    const pem = await pki.request('read', 'crl/pem');
    assert.equal(pem?.rawBytes?.contentType, 'application/x-pem-file');
    assert.equal(new x509.X509Crl(pem!.rawBytes!.body.toString()).toString('base64'), second.toString('base64'));
    assert.match((await pki.read('cert/crl')).certificate, /BEGIN X509 CRL/);
  });

  test('bad revoke requests are 400', async () => {
    const { pki, root } = await setup();
    await assert.rejects(pki.write('revoke', {}), BadRequestError);
    await assert.rejects(pki.write('revoke', { serial_number: 'zz:top' }), /invalid serial_number/);
    await assert.rejects(pki.write('revoke', { serial_number: '01:02' }), /not found/);
    await assert.rejects(pki.write('revoke', { serial_number: root.serial_number }), /is an issuer of this mount/);
  });

  test('config/crl disable and auto_rebuild', async () => {
    const { pki } = await setup();
    const defaults = await pki.read('config/crl');
    assert.equal(defaults.expiry, '72h');
    assert.equal(defaults.disable, false);

    const leaf = await pki.write('issue/any', { common_name: 'a.internal' });
    await pki.write('revoke', { serial_number: leaf.serial_number });
    await pki.request('update', 'config/crl', { disable: true });
    assert.equal((await crlOf(pki)).entries.length, 0);

    await pki.request('update', 'config/crl', { disable: false, auto_rebuild: true, expiry: '48h' });
    assert.equal((await crlOf(pki)).entries.length, 1);
    const other = await pki.write('issue/any', { common_name: 'b.internal' });
    await pki.write('revoke', { serial_number: other.serial_number });
    assert.equal((await crlOf(pki)).entries.length, 1, 'auto_rebuild defers the rebuild');
    await pki.request('read', 'crl/rotate');
    assert.equal((await crlOf(pki)).entries.length, 2);
    await assert.rejects(pki.request('update', 'config/crl', { expiry: 'soon' }), BadRequestError);
  });

  test('OCSP answers good, revoked and unknown', async () => {
    const { pki, root } = await setup();
    const good = await pki.write('issue/any', { common_name: 'good.internal' });
    const bad = await pki.write('issue/any', { common_name: 'bad.internal' });
    await pki.write('revoke', { serial_number: bad.serial_number });

    const viaGet = async (serial: string) => {
      const encoded = ocspRequest(root.certificate, serial).toString('base64url');
      const response = await pki.request('read', `ocsp/${encoded}`);
      assert.equal(response?.rawBytes?.contentType, 'application/ocsp-response');
      return response!.rawBytes!.body;
    };
    assert.equal(singleStatus(await viaGet(good.serial_number)).good, null);
    assert.ok(singleStatus(await viaGet(bad.serial_number)).revoked);
    assert.equal(singleStatus(await viaGet('7f:01:02:03')).unknown, null);

    const posted = await pki.request('update', 'ocsp', {}, { rawBody: ocspRequest(root.certificate, bad.serial_number) });
    assert.ok(singleStatus(posted!.rawBytes!.body).revoked);

    const malformed = await pki.request('update', 'ocsp', {}, { rawBody: Buffer.from('nonsense') });
    assert.equal(malformed?.rawBytes?.status, 400);
    assert.equal(AsnConvert.parse(malformed!.rawBytes!.body, ocsp.OCSPResponse).responseStatus, ocsp.OCSPResponseStatus.malformedRequest);

    const other = await mountPki();
    const foreign = await other.write('root/generate/internal', { common_name: 'Other', key_type: 'ec', ttl: '1h' });
    const unauthorized = await pki.request('read', `ocsp/${ocspRequest(foreign.certificate, good.serial_number).toString('base64url')}`);
    assert.equal(unauthorized?.rawBytes?.status, 401);
  });

  test('lease revoke revokes the certificate', async () => {
    const { pki } = await setup();
    await pki.write('roles/leased', { allow_any_name: true, key_type: 'ec', ttl: '1h', generate_lease: true });
    const response = await pki.request('update', 'issue/leased', { common_name: 'leased.internal' });
    assert.equal(response?.secret?.type, 'pki_cert');
    assert.ok(response!.secret!.ttl > 3500);
    assert.ok(response!.secret!.ttl <= 3600);
    const serial = String(response!.data!.serial_number);
    assert.equal(response!.secret!.internalData.serial_number, serial);

    await pki.backend.secretTypes!.pki_cert!.revoke({
      leaseId: 'pki/issue/leased/test',
      internalData: response!.secret!.internalData,
      increment: 0,
      issueTime: Date.now(),
      expireTime: 0,
      backend: pki.context,
    });
    assert.notEqual((await pki.read(`cert/${serial}`)).revocation_time, 0);
  });

  test('tidy removes expired certificates', async () => {
    const { pki } = await setup();
    const expiring = await pki.write('issue/any', { common_name: 'short.internal', ttl: '1s' });
    const valid = await pki.write('issue/any', { common_name: 'long.internal' });
    await pki.write('revoke', { serial_number: expiring.serial_number });
    // The certificate expires after 1s and tidy keeps it for a 1s safety buffer beyond that.
    await new Promise((resolve) => setTimeout(resolve, 2100));

    await assert.rejects(pki.request('update', 'tidy', {}), /nothing to do/);
    const started = await pki.request('update', 'tidy', { tidy_cert_store: true, tidy_revoked_certs: true, safety_buffer: 1 });
    assert.equal(started?.status, 202);
    let status: Record<string, any> = {};
    for (let attempt = 0; attempt < 50 && status.state !== 'Finished'; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = await pki.read('tidy-status');
    }
    assert.equal(status.state, 'Finished');
    assert.equal(status.revoked_cert_deleted_count, 1);
    assert.equal(await pki.request('read', `cert/${expiring.serial_number}`), null);
    assert.ok(await pki.request('read', `cert/${valid.serial_number}`));
    assert.equal((await crlOf(pki)).entries.length, 0);
  });

  test('certs list pages with after and limit', async () => {
    const { pki } = await setup();
    for (let i = 0; i < 3; i++) await pki.write('issue/any', { common_name: `n${i}.internal` });
    const all = (await pki.request('list', 'certs/'))?.data?.keys as string[];
    assert.equal(all.length, 4);
    const page = await pki.request('list', 'certs/', {}, { query: { after: all[0]!, limit: '2' } });
    assert.deepEqual(page?.data?.keys, all.slice(1, 3));
  });
});
