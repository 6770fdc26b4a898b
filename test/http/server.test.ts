import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { parseListenAddress } from '../../src/http/server.js';
import { exchange, json, parseResponses, rawRequest, startTestListener, type TestListener } from './harness.js';

/** Writes a self-signed certificate for 127.0.0.1 with openssl; null when openssl is missing. */
function makeCertificate(dir: string): { certFile: string; keyFile: string } | null {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile,
        '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      { stdio: 'ignore' },
    );
  } catch {
    return null;
  }
  return { certFile, keyFile };
}

/** Sends a request over HTTP/2 and returns the status and body. */
async function h2Request(session: http2.ClientHttp2Session, method: string, path: string, body?: string): Promise<{ status: number; body: any }> {
  const stream = session.request({ ':method': method, ':path': path }, { endStream: body === undefined });
  if (body !== undefined) stream.end(body);
  let status = 0;
  let text = '';
  stream.on('response', (headers) => (status = Number(headers[':status'])));
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (text += chunk));
  await new Promise((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  return { status, body: text ? JSON.parse(text) : null };
}

/** Opens a TLS connection that offers only HTTP/1.1, sends raw bytes and reads `count` responses. */
async function tlsExchange(port: number, ca: Buffer, payload: string, count: number, maxVersion?: tls.SecureVersion) {
  const socket = tls.connect({ port, host: '127.0.0.1', ca, ALPNProtocols: ['http/1.1'], maxVersion });
  await new Promise((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const alpn = socket.alpnProtocol;
  socket.write(payload);
  let received = Buffer.alloc(0);
  await new Promise<void>((resolve) => {
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (parseResponses(received).length >= count) resolve();
    });
    socket.on('close', () => resolve());
  });
  socket.destroy();
  return { alpn, responses: parseResponses(received) };
}

describe('TLS listener', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-http-tls-'));
  const certificate = makeCertificate(dir);
  const skip = certificate ? false : 'openssl is not installed, so no test certificate can be made';
  let server: TestListener;
  let ca: Buffer;

  before(async () => {
    if (!certificate) return;
    ca = readFileSync(certificate.certFile);
    server = await startTestListener({ tlsDisable: false, tlsCertFile: certificate.certFile, tlsKeyFile: certificate.keyFile, tlsMinVersion: 'tls12' });
  });
  after(async () => {
    await server?.listener.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('serves LIST over HTTP/2', { skip }, async () => {
    const session = http2.connect(`https://127.0.0.1:${server.port}`, { ca });
    try {
      const list = await h2Request(session, 'LIST', '/v1/secret/metadata');
      assert.equal(list.status, 200);
      assert.equal(list.body.operation, 'list');
      assert.equal(list.body.path, 'secret/metadata/');
      const link = await h2Request(session, 'LINK', '/v1/secret/metadata');
      assert.equal(link.status, 405);
      const read = await h2Request(session, 'GET', '/v1/secret/data/app?list=true');
      assert.equal(read.body.operation, 'list');
    } finally {
      session.close();
    }
  });

  test('reads a write body over HTTP/2', { skip }, async () => {
    const session = http2.connect(`https://127.0.0.1:${server.port}`, { ca });
    try {
      const write = await h2Request(session, 'PUT', '/v1/secret/data/app', '{"data":{"k":"v"}}');
      assert.equal(write.status, 200);
      assert.equal(write.body.operation, 'update');
      assert.deepEqual(write.body.data, { data: { k: 'v' } });

      const oversized = await h2Request(session, 'PUT', '/v1/secret/data/app', JSON.stringify({ k: 'v'.repeat(2 * 1024 * 1024) }));
      assert.equal(oversized.status, 413);

      const after = await h2Request(session, 'GET', '/v1/secret/data/app');
      assert.equal(after.status, 200);
    } finally {
      session.close();
    }
  });

  test('serves LIST over HTTP/1.1 on TLS', { skip }, async () => {
    const payload = rawRequest('LIST', '/v1/a') + rawRequest('LINK', '/v1/b') + rawRequest('PUT', '/v1/c', '{"x":"LIST "}') + rawRequest('LIST', '/v1/d');
    const { alpn, responses } = await tlsExchange(server.port, ca, payload, 4);
    assert.equal(alpn, 'http/1.1');
    assert.deepEqual(responses.map((response) => response.status), [200, 405, 200, 200]);
    assert.equal(json(responses[0]).operation, 'list');
    assert.deepEqual(json(responses[2]).data, { x: 'LIST ' });
    assert.equal(json(responses[3]).path, 'd/');
  });

  test('rejects TLS 1.2 when the minimum is 1.3', { skip }, async () => {
    const strict = await startTestListener({ tlsDisable: false, tlsCertFile: certificate!.certFile, tlsKeyFile: certificate!.keyFile, tlsMinVersion: 'tls13' });
    try {
      await assert.rejects(tlsExchange(strict.port, ca, rawRequest('GET', '/v1/a'), 1, 'TLSv1.2'));
      const { responses } = await tlsExchange(strict.port, ca, rawRequest('LIST', '/v1/a'), 1);
      assert.equal(responses[0].status, 200);
    } finally {
      await strict.listener.close();
    }
  });

  test('close ends idle HTTP/2 and HTTP/1.1 connections', { skip }, async () => {
    const closing = await startTestListener({ tlsDisable: false, tlsCertFile: certificate!.certFile, tlsKeyFile: certificate!.keyFile });
    const session = http2.connect(`https://127.0.0.1:${closing.port}`, { ca });
    await h2Request(session, 'GET', '/v1/a');
    const socket = tls.connect({ port: closing.port, host: '127.0.0.1', ca, ALPNProtocols: ['http/1.1'] });
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    socket.write(rawRequest('GET', '/v1/a'));
    await new Promise((resolve) => socket.once('data', resolve));

    const socketClosed = new Promise((resolve) => socket.once('close', resolve));
    const sessionClosed = new Promise((resolve) => session.once('close', resolve));
    await closing.listener.close();
    await socketClosed;
    await sessionClosed;
  });

  test('rejects a missing certificate file', async () => {
    await assert.rejects(
      startTestListener({ tlsDisable: false, tlsCertFile: join(dir, 'missing.pem'), tlsKeyFile: join(dir, 'missing-key.pem') }),
      /reading tls_cert_file/,
    );
  });

  test('rejects TLS without certificate settings', async () => {
    await assert.rejects(startTestListener({ tlsDisable: false }), /tls_cert_file or tls_key_file is not set/);
  });
});

describe('plain listener lifecycle', () => {
  test('reports the bound port', async () => {
    const server = await startTestListener();
    try {
      assert.match(server.listener.address, /^127\.0\.0\.1:\d+$/);
      assert.notEqual(server.port, 0);
    } finally {
      await server.listener.close();
    }
  });

  test('close ends an idle keep-alive connection', async () => {
    const server = await startTestListener();
    const socket = net.connect(server.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(rawRequest('LIST', '/v1/a'));
    await new Promise((resolve) => socket.once('data', resolve));

    const closed = new Promise((resolve) => socket.once('close', resolve));
    await server.listener.close();
    await closed;
  });

  test('close lets an in-flight request finish', async () => {
    const server = await startTestListener();
    const pending = exchange(server.port, [rawRequest('GET', '/v1/slow')], { responses: 1 });
    while (server.handler.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await server.listener.close();
    const result = await pending;
    assert.equal(result.responses[0]?.status, 200);
    assert.equal(result.responses[0].headers.connection, 'close');
  });

  test('rejects an address in use', async () => {
    const server = await startTestListener();
    try {
      await assert.rejects(startTestListener({ address: server.listener.address }), /listening on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    } finally {
      await server.listener.close();
    }
  });
});

describe('parseListenAddress', () => {
  test('splits host and port', () => {
    assert.deepEqual(parseListenAddress('127.0.0.1:8200'), { host: '127.0.0.1', port: 8200 });
    assert.deepEqual(parseListenAddress('[::1]:0'), { host: '::1', port: 0 });
    assert.deepEqual(parseListenAddress(':8200'), { host: '0.0.0.0', port: 8200 });
  });

  test('rejects an address without a valid port', () => {
    for (const address of ['127.0.0.1', '127.0.0.1:', '127.0.0.1:http', '127.0.0.1:70000']) {
      assert.throws(() => parseListenAddress(address), /invalid listener address/, address);
    }
  });
});
