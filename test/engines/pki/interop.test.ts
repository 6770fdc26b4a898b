import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { api, startDevServer } from '../../helpers/server.js';
import { requireService } from '../../helpers/services.js';

const opensslAvailable = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

function openssl(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('openssl', args, { encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

async function raw(url: string, path: string): Promise<{ status: number; type: string | null; body: Buffer }> {
  const response = await fetch(`${url}/v1/${path}`);
  return { status: response.status, type: response.headers.get('content-type'), body: Buffer.from(await response.arrayBuffer()) };
}

/**
 * Starts a TLS server that requests a client certificate and returns the outcome of one handshake:
 * whether the client accepted the server, and whether the server accepted the client (with the
 * server's verification error when it did not). The server checks the client itself, as a mesh
 * proxy would, so the verification error is visible.
 */
async function handshake(server: tls.TlsOptions, client: tls.ConnectionOptions) {
  const tlsServer: tls.Server = tls.createServer({ ...server, requestCert: true, rejectUnauthorized: false });
  const serverOutcome = new Promise<{ clientAccepted: boolean; serverError?: string }>((resolve) => {
    tlsServer.once('secureConnection', (socket: tls.TLSSocket) => {
      resolve({ clientAccepted: socket.authorized, serverError: socket.authorizationError?.toString() });
      socket.end();
    });
    tlsServer.once('tlsClientError', (err) => resolve({ clientAccepted: false, serverError: err.message }));
  });
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  const port = (tlsServer.address() as { port: number }).port;
  try {
    const clientOutcome = await new Promise<{ serverAccepted: boolean; peerCn?: string }>((resolve) => {
      const socket = tls.connect({ ...client, host: '127.0.0.1', port, servername: 'server.mesh.local' }, () => {
        resolve({ serverAccepted: socket.authorized, peerCn: socket.getPeerCertificate()?.subject?.CN });
        socket.end();
      });
      socket.on('error', () => resolve({ serverAccepted: false }));
    });
    return { ...clientOutcome, ...(await serverOutcome) };
  } finally {
    await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
  }
}

describe('pki interoperability', { skip: !requireService('openssl', opensslAvailable, 'the openssl command is not installed') }, () => {
  let server: Awaited<ReturnType<typeof startDevServer>>;
  const dir = mkdtempSync(join(tmpdir(), 'coffer-pki-'));
  const file = (name: string) => join(dir, name);
  const issued: Record<string, any> = {};

  before(async () => {
    server = await startDevServer();
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await api(server.url, method, path, { token: 'root', body });
      assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
      return response.body?.data;
    };
    await call('POST', 'sys/mounts/pki', { type: 'pki' });
    await call('POST', 'sys/mounts/pki_int', { type: 'pki' });

    const root = await call('POST', 'pki/root/generate/internal', { common_name: 'Mesh Root CA', key_type: 'ec', ttl: '700h' });
    writeFileSync(file('root.pem'), root.certificate);

    const csr = await call('POST', 'pki_int/intermediate/generate/internal', { common_name: 'Mesh Intermediate CA', key_type: 'ec' });
    const signed = await call('POST', 'pki/root/sign-intermediate', { csr: csr.csr, ttl: '600h' });
    await call('POST', 'pki_int/intermediate/set-signed', { certificate: `${signed.certificate}\n${signed.issuing_ca}` });
    writeFileSync(file('int.pem'), signed.certificate);
    writeFileSync(file('chain.pem'), `${signed.certificate}\n${root.certificate}`);

    await call('POST', 'pki_int/roles/mesh', {
      allowed_domains: 'mesh.local',
      allow_subdomains: true,
      allowed_uri_sans: 'spiffe://cluster.local/*',
      key_type: 'ec',
      ttl: '1h',
    });
    issued.server = await call('POST', 'pki_int/issue/mesh', { common_name: 'server.mesh.local', ip_sans: '127.0.0.1' });
    issued.client = await call('POST', 'pki_int/issue/mesh', { common_name: 'client.mesh.local', uri_sans: 'spiffe://cluster.local/ns/default/sa/client' });
    for (const name of ['server', 'client']) {
      writeFileSync(file(`${name}.pem`), issued[name].certificate);
      writeFileSync(file(`${name}-key.pem`), issued[name].private_key);
    }
  });

  after(async () => {
    await server.close();
  });

  test('openssl verify accepts leaf through intermediate', () => {
    const result = openssl('verify', '-CAfile', file('root.pem'), '-untrusted', file('int.pem'), file('server.pem'));
    assert.equal(result.status, 0, result.output);
    assert.match(result.output, /server\.pem: OK/);
  });

  test('leaf carries the SPIFFE URI SAN', () => {
    const result = openssl('x509', '-in', file('client.pem'), '-noout', '-ext', 'subjectAltName');
    assert.match(result.output, /URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/client/);
  });

  test('raw endpoints answer DER and PEM', async () => {
    const der = await raw(server.url, 'pki_int/ca');
    assert.equal(der.status, 200);
    assert.equal(der.type, 'application/pkix-cert');
    assert.equal(der.body[0], 0x30);

    const pem = await raw(server.url, 'pki_int/ca/pem');
    assert.equal(pem.type, 'application/pem-certificate-chain');
    assert.equal(pem.body.toString().trim(), readFileSync(file('int.pem'), 'utf8').trim());

    const chain = await raw(server.url, 'pki_int/ca_chain');
    assert.equal(chain.body.toString().match(/BEGIN CERTIFICATE/g)?.length, 2);

    const crl = await raw(server.url, 'pki_int/crl');
    assert.equal(crl.type, 'application/pkix-crl');
    assert.equal(crl.body[0], 0x30);
  });

  test('mutual TLS handshake with issued certificates', async () => {
    const ca = [readFileSync(file('root.pem')), readFileSync(file('int.pem'))];
    const outcome = await handshake(
      { cert: issued.server.certificate, key: issued.server.private_key, ca },
      { cert: issued.client.certificate, key: issued.client.private_key, ca },
    );
    assert.equal(outcome.serverError, undefined);
    assert.equal(outcome.clientAccepted, true);
    assert.equal(outcome.serverAccepted, true);
    assert.equal(outcome.peerCn, 'server.mesh.local');
  });

  test('revoked client is rejected and listed', async () => {
    const revoked = await api(server.url, 'POST', 'pki_int/revoke', { token: 'root', body: { serial_number: issued.client.serial_number } });
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body.data.state, 'revoked');

    const crlPem = (await raw(server.url, 'pki_int/crl/pem')).body.toString();
    writeFileSync(file('crl.pem'), crlPem);
    const listed = openssl('crl', '-in', file('crl.pem'), '-noout', '-text');
    assert.equal(listed.status, 0, listed.output);
    const hexSerial = issued.client.serial_number.replace(/:/g, '').toUpperCase();
    assert.ok(listed.output.includes(hexSerial), `CRL does not list ${hexSerial}:\n${listed.output}`);

    // Node checks the CRL of every CA in the chain, so the root's CRL is needed as well.
    const rootCrlPem = (await raw(server.url, 'pki/crl/pem')).body.toString();
    const ca = [readFileSync(file('root.pem')), readFileSync(file('int.pem'))];
    const outcome = await handshake(
      { cert: issued.server.certificate, key: issued.server.private_key, ca, crl: [crlPem, rootCrlPem] },
      { cert: issued.client.certificate, key: issued.client.private_key, ca },
    );
    assert.equal(outcome.clientAccepted, false);
    assert.equal(outcome.serverError, 'CERT_REVOKED');
  });

  test('openssl ocsp reports revoked and good', async () => {
    const query = async (certName: string) => {
      const request = openssl('ocsp', '-issuer', file('int.pem'), '-cert', file(certName), '-reqout', file(`${certName}.req`), '-no_nonce');
      assert.equal(request.status, 0, request.output);
      // Base64url keeps "/" out of the path, because an empty path segment ("//") is rejected.
      const encoded = readFileSync(file(`${certName}.req`)).toString('base64url');
      const response = await raw(server.url, `pki_int/ocsp/${encoded}`);
      assert.equal(response.status, 200);
      assert.equal(response.type, 'application/ocsp-response');
      writeFileSync(file(`${certName}.resp`), response.body);
      return openssl('ocsp', '-respin', file(`${certName}.resp`), '-issuer', file('int.pem'), '-cert', file(certName), '-CAfile', file('chain.pem'));
    };

    const revoked = await query('client.pem');
    assert.equal(revoked.status, 0, revoked.output);
    assert.match(revoked.output, /Response verify OK/);
    assert.match(revoked.output, /client\.pem: revoked/);

    const good = await query('server.pem');
    assert.match(good.output, /server\.pem: good/);
  });

  test('expired client is rejected', async () => {
    const short = await api(server.url, 'POST', 'pki_int/issue/mesh', { token: 'root', body: { common_name: 'old.mesh.local', ttl: '1s' } });
    assert.equal(short.status, 200);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const ca = [readFileSync(file('root.pem')), readFileSync(file('int.pem'))];
    const outcome = await handshake(
      { cert: issued.server.certificate, key: issued.server.private_key, ca },
      { cert: short.body.data.certificate, key: short.body.data.private_key, ca },
    );
    assert.equal(outcome.clientAccepted, false);
    assert.equal(outcome.serverError, 'CERT_HAS_EXPIRED');
  });
});
