import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { BadRequestError, NotFoundError, UnsupportedOperationError } from '../../src/errors.js';
import { decodePath, operationFor, parseJsonObject } from '../../src/http/decode.js';
import { chunkedRequest, exchange, json, rawRequest, startTestListener, type TestListener } from './harness.js';

describe('decodePath', () => {
  const accepted: Record<string, string> = {
    '/v1/secret/data/app': 'secret/data/app',
    '/v1/secret/metadata/': 'secret/metadata/',
    '/v1/secret/data/my%20key': 'secret/data/my key',
    '/v1/secret/data/caf%C3%A9': 'secret/data/café',
    '/v1/secret/data/a+b': 'secret/data/a+b',
    '/v1/secret/data/v1.2..3': 'secret/data/v1.2..3',
    '/v1/sys/health': 'sys/health',
  };
  for (const [raw, expected] of Object.entries(accepted)) {
    test(`accepts ${raw}`, () => {
      assert.equal(decodePath(raw), expected);
    });
  }

  const rejected = [
    '/v1/secret/../sys/seal',
    '/v1/secret/./data',
    '/v1/..',
    '/v1/secret/%2e%2e/sys',
    '/v1/secret%2Fdata',
    '/v1/secret%2fdata',
    '/v1/secret%5cdata',
    '/v1/secret\\data',
    '/v1/secret//data',
    '/v1//secret',
    '/v1/secret/%zz',
    '/v1/secret/%00',
    '/v1/secret/%C3',
  ];
  for (const raw of rejected) {
    test(`rejects ${raw}`, () => {
      assert.throws(() => decodePath(raw), BadRequestError);
    });
  }

  for (const raw of ['/v2/secret', '/', '/v1', '/v1/', '/ui/']) {
    test(`answers ${raw} with not found`, () => {
      assert.throws(() => decodePath(raw), NotFoundError);
    });
  }
});

describe('operationFor', () => {
  test('maps methods to operations', () => {
    assert.equal(operationFor('GET', {}), 'read');
    assert.equal(operationFor('GET', { list: 'true' }), 'list');
    assert.equal(operationFor('GET', { list: '1' }), 'list');
    assert.equal(operationFor('GET', { list: 'false' }), 'read');
    assert.equal(operationFor('LIST', {}), 'list');
    assert.equal(operationFor('PUT', {}), 'update');
    assert.equal(operationFor('POST', {}), 'update');
    assert.equal(operationFor('PATCH', {}), 'patch');
    assert.equal(operationFor('DELETE', {}), 'delete');
  });

  test('rejects other methods', () => {
    for (const method of ['OPTIONS', 'LINK', 'TRACE', 'PROPFIND']) {
      assert.throws(() => operationFor(method, {}), UnsupportedOperationError);
    }
  });

  test('maps HEAD to read', () => {
    assert.equal(operationFor('HEAD', {}), 'read');
  });

  test('rejects an invalid list value', () => {
    assert.throws(() => operationFor('GET', { list: 'yes please' }), BadRequestError);
  });
});

describe('parseJsonObject', () => {
  test('reads an object', () => {
    assert.deepEqual(parseJsonObject(Buffer.from('{"a":1,"b":{"c":[true]}}')), { a: 1, b: { c: [true] } });
  });

  test('treats empty, blank and null as no fields', () => {
    assert.deepEqual(parseJsonObject(Buffer.alloc(0)), {});
    assert.deepEqual(parseJsonObject(Buffer.from(' \n\t')), {});
    assert.deepEqual(parseJsonObject(Buffer.from('null')), {});
  });

  test('rejects malformed JSON without quoting it', () => {
    assert.throws(
      () => parseJsonObject(Buffer.from('{"password": "hunter2"')),
      (err: Error) => err instanceof BadRequestError && /failed to parse/.test(err.message) && !err.message.includes('hunter2'),
    );
  });

  test('rejects JSON that is not an object', () => {
    for (const body of ['[1,2]', '"text"', '42', 'true']) {
      assert.throws(() => parseJsonObject(Buffer.from(body)), /expected a JSON object/, body);
    }
  });
});

describe('request decoding over HTTP', () => {
  let server: TestListener;
  let base: string;
  before(async () => {
    server = await startTestListener({ maxRequestSize: 64 });
    base = `http://127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server.listener.close();
  });

  async function call(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) {
    const response = await fetch(`${base}${path}`, { method, body: init.body, headers: init.headers });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
  }

  test('decodes a read with query data', async () => {
    const { status, body } = await call('GET', '/v1/secret/data/app?version=2&version=3&list=false');
    assert.equal(status, 200);
    assert.equal(body.operation, 'read');
    assert.equal(body.path, 'secret/data/app');
    assert.deepEqual(body.data, { version: '2' });
    assert.deepEqual(body.query, { version: '2', list: 'false' });
    assert.equal(body.remoteAddress, '127.0.0.1');
    assert.match(body.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test('decodes a LIST sent by fetch', async () => {
    const { status, body } = await call('LIST', '/v1/secret/metadata');
    assert.equal(status, 200);
    assert.equal(body.operation, 'list');
    assert.equal(body.path, 'secret/metadata/');
  });

  test('decodes a delete with query data', async () => {
    const { body } = await call('DELETE', '/v1/secret/metadata/app?versions=1');
    assert.equal(body.operation, 'delete');
    assert.deepEqual(body.data, { versions: '1' });
  });

  test('decodes a write body and ignores the query for data', async () => {
    const { body } = await call('POST', '/v1/secret/data/app?x=1', { body: '{"data":{"k":"v"}}' });
    assert.equal(body.operation, 'update');
    assert.deepEqual(body.data, { data: { k: 'v' } });
    assert.deepEqual(body.query, { x: '1' });
  });

  test('treats an empty write body as no fields', async () => {
    const { status, body } = await call('PUT', '/v1/sys/seal');
    assert.equal(status, 200);
    assert.deepEqual(body.data, {});
  });

  test('answers malformed JSON with 400', async () => {
    const { status, body } = await call('PUT', '/v1/secret/data/app', { body: '{"a":' });
    assert.equal(status, 400);
    assert.match(body.errors[0], /failed to parse the request body as JSON/);
  });

  test('answers a JSON array body with 400', async () => {
    const { status, body } = await call('PUT', '/v1/secret/data/app', { body: '["a"]' });
    assert.equal(status, 400);
    assert.match(body.errors[0], /expected a JSON object/);
  });

  test('reads the token from X-Vault-Token first', async () => {
    const { body } = await call('GET', '/v1/auth/token/lookup-self', {
      headers: { 'X-Vault-Token': 'hvs.first', Authorization: 'Bearer second' },
    });
    assert.equal(body.clientToken, 'hvs.first');
  });

  test('reads a Bearer token', async () => {
    const { body } = await call('GET', '/v1/auth/token/lookup-self', { headers: { Authorization: 'bearer hvs.bearer' } });
    assert.equal(body.clientToken, 'hvs.bearer');
  });

  test('ignores a non-Bearer Authorization', async () => {
    const { body } = await call('GET', '/v1/auth/token/lookup-self', { headers: { Authorization: 'Basic dXNlcjpwYXNz' } });
    assert.equal(body.clientToken, null);
  });

  test('parses X-Vault-Wrap-TTL', async () => {
    const { body } = await call('GET', '/v1/secret/data/app', { headers: { 'X-Vault-Wrap-TTL': '5m' } });
    assert.equal(body.wrapTtl, 300);
    const plain = await call('GET', '/v1/secret/data/app', { headers: { 'X-Vault-Wrap-TTL': '90' } });
    assert.equal(plain.body.wrapTtl, 90);
  });

  test('answers an invalid X-Vault-Wrap-TTL with 400', async () => {
    const { status, body } = await call('GET', '/v1/secret/data/app', { headers: { 'X-Vault-Wrap-TTL': 'soon' } });
    assert.equal(status, 400);
    assert.match(body.errors[0], /X-Vault-Wrap-TTL/);
  });

  test('answers a namespace with 400', async () => {
    const { status, body } = await call('GET', '/v1/secret/data/app', { headers: { 'X-Vault-Namespace': 'team-a' } });
    assert.equal(status, 400);
    assert.match(body.errors[0], /namespaces are not supported/);
  });

  test('accepts the root namespace', async () => {
    for (const namespace of ['root', '/', 'root/', '']) {
      const { status } = await call('GET', '/v1/secret/data/app', { headers: { 'X-Vault-Namespace': namespace } });
      assert.equal(status, 200, JSON.stringify(namespace));
    }
  });

  test('passes lower-cased headers', async () => {
    await call('GET', '/v1/secret/data/headers', { headers: { 'X-Custom-Thing': 'Value' } });
    const req = server.handler.requests.at(-1)!;
    assert.equal(req.path, 'secret/data/headers');
    assert.equal(req.headers['x-custom-thing'], 'Value');
  });

  test('requires merge-patch JSON for PATCH', async () => {
    const rejected = await call('PATCH', '/v1/secret/data/app', { body: '{}', headers: { 'Content-Type': 'application/json' } });
    assert.equal(rejected.status, 415);
    assert.match(rejected.body.errors[0], /application\/merge-patch\+json/);

    const accepted = await call('PATCH', '/v1/secret/data/app', {
      body: '{"data":{"k":"v"}}',
      headers: { 'Content-Type': 'application/merge-patch+json; charset=utf-8' },
    });
    assert.equal(accepted.status, 200);
    assert.equal(accepted.body.operation, 'patch');
    assert.deepEqual(accepted.body.data, { data: { k: 'v' } });
  });

  test('requires Host on HTTP/1.1 only', async () => {
    const stream = 'GET /v1/a HTTP/1.1\r\n\r\nGET /v1/b HTTP/1.0\r\n\r\n';
    const result = await exchange(server.port, [stream], { responses: 2 });
    assert.equal(result.responses[0].status, 400);
    assert.match(json(result.responses[0]).errors[0], /missing required Host header/);
    assert.equal(result.responses[1].status, 200);
  });

  test('answers paths outside /v1/ with 404', async () => {
    for (const path of ['/', '/v2/secret', '/ui/']) {
      const { status, body } = await call('GET', path);
      assert.equal(status, 404, path);
      assert.match(body.errors[0], /\/v1\//);
    }
  });

  test('answers other methods with 405', async () => {
    const options = await call('OPTIONS', '/v1/secret/data/app');
    assert.equal(options.status, 405);
    assert.match(options.body.errors[0], /unsupported method OPTIONS/);
    const propfind = await call('PROPFIND', '/v1/secret/data/app');
    assert.equal(propfind.status, 405);
  });

  test('answers unsafe paths with 400', async () => {
    const paths = ['/v1/secret/../sys/seal', '/v1/secret/%2E%2E/sys', '/v1/secret%2Fdata', '/v1/secret%2fdata', '/v1/a//b', '/v1/a\\b'];
    const result = await exchange(server.port, [paths.map((path) => rawRequest('GET', path)).join('')], { responses: paths.length });
    for (const [index, response] of result.responses.entries()) {
      assert.equal(response.status, 400, paths[index]);
      assert.match(json(response).errors[0], /invalid path/, paths[index]);
    }
    assert.equal(result.responses.length, paths.length);
  });

  test('answers a declared oversized body with 413 before it arrives', async () => {
    // Only the headers are sent: the server must respond without waiting for the 100 bytes.
    const head = 'PUT /v1/secret/data/app HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n';
    const result = await exchange(server.port, [head], { responses: 1, timeoutMs: 2000 });
    assert.equal(result.timedOut, false);
    assert.equal(result.responses[0].status, 413);
    assert.equal(result.responses[0].headers.connection, 'close');
    assert.match(json(result.responses[0]).errors[0], /larger than the limit of 64 bytes/);
  });

  test('answers an oversized chunked body with 413', async () => {
    const head = 'PUT /v1/secret/data/app HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n';
    const chunk = `28\r\n${'x'.repeat(40)}\r\n`;
    // The body never ends: the response must come once 64 bytes are exceeded.
    const result = await exchange(server.port, [head, chunk, chunk], { responses: 1, writeDelayMs: 20, timeoutMs: 2000 });
    assert.equal(result.timedOut, false);
    assert.equal(result.responses[0].status, 413);
  });

  test('accepts a body at the limit', async () => {
    const body = JSON.stringify({ k: 'v'.repeat(56) });
    assert.equal(body.length, 64);
    const result = await exchange(server.port, [chunkedRequest('PUT', '/v1/secret/data/app', [body.slice(0, 10), body.slice(10)])], {
      responses: 1,
    });
    assert.equal(result.responses[0].status, 200);
  });

  test('sends 100 Continue before reading the body', async () => {
    const socket = net.connect(server.port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk) => received.push(chunk));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('PUT /v1/secret/data/app HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n');
    await new Promise((resolve) => socket.once('data', resolve));
    assert.match(Buffer.concat(received).toString(), /^HTTP\/1\.1 100 Continue\r\n/);
    socket.write('{"a":"b"}');
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (/"data":\{"a":"b"\}/.test(Buffer.concat(received).toString())) resolve();
      };
      socket.on('data', check);
      socket.on('close', resolve);
      check();
    });
    socket.destroy();
    const text = Buffer.concat(received).toString();
    assert.match(text, /HTTP\/1\.1 200 OK/);
    assert.match(text, /"data":\{"a":"b"\}/);
  });

  test('answers an oversized body with 413 instead of 100 Continue', async () => {
    const head = 'PUT /v1/secret/data/app HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n';
    const result = await exchange(server.port, [head], { responses: 1 });
    assert.equal(result.responses[0].status, 413);
    assert.doesNotMatch(result.raw.toString(), /100 Continue/);
  });

  test('answers another expectation with 417', async () => {
    const result = await exchange(server.port, [rawRequest('LIST', '/v1/secret/', undefined, { Expect: 'something' }), rawRequest('LINK', '/v1/x')], {
      responses: 2,
    });
    assert.equal(result.responses[0].status, 417);
    // The 417 response used up the LIST flag, so the real LINK that follows stays LINK.
    assert.equal(result.responses[1].status, 405);
  });
});

describe('OCSP GET paths', () => {
  test('decode encoded slashes in the request segment', () => {
    assert.equal(decodePath('/v1/pki/ocsp/MEow%2FTzBN%2F%2Fw%3D%3D'), 'pki/ocsp/MEow/TzBN//w==');
  });

  test('keep rejecting encoded slashes elsewhere', () => {
    assert.throws(() => decodePath('/v1/pki%2Focsp/abc'), BadRequestError);
    assert.throws(() => decodePath('/v1/a/../ocsp/abc'), BadRequestError);
  });
});
