import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startDevServer } from '../helpers/server.js';

/** Sends raw bytes and returns everything the server writes until it closes the connection. */
function exchange(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => (received += chunk));
    socket.on('end', () => resolve(received));
    socket.on('error', reject);
    socket.write(raw);
  });
}

describe('requests Node rejects before routing', () => {
  let server: Awaited<ReturnType<typeof startDevServer>>;
  let port: number;
  before(async () => {
    server = await startDevServer();
    port = Number(new URL(server.url).port);
  });
  after(() => server.close());

  it('answers an unknown method with JSON 405', async () => {
    const response = await exchange(port, 'FOO /v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(response, /^HTTP\/1\.1 405 /);
    assert.match(response, /"errors":\["unsupported method/);
  });

  it('answers CONNECT with JSON 405', async () => {
    const response = await exchange(port, 'CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n');
    assert.match(response, /^HTTP\/1\.1 405 /);
    assert.match(response, /unsupported method CONNECT/);
  });

  it('answers malformed framing with JSON 400', async () => {
    const response = await exchange(port, 'GET /v1/sys/health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n');
    assert.match(response, /^HTTP\/1\.1 400 /);
    assert.match(response, /"errors":\["malformed HTTP request"\]/);
  });

  it('keeps serving normal requests', async () => {
    const health = await fetch(`${server.url}/v1/sys/health`);
    assert.equal(health.status, 200);
  });
});
