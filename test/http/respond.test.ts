import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { UnsupportedMediaTypeError } from '../../src/http/errors.js';
import { ERROR_CLASSES, INTERNAL_DETAIL, startTestListener, type TestListener } from './harness.js';

describe('answers and errors over HTTP', () => {
  let server: TestListener;
  let base: string;
  before(async () => {
    server = await startTestListener();
    base = `http://127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server.listener.close();
  });

  test('writes a JSON answer with its headers', async () => {
    const response = await fetch(`${base}/v1/secret/data/app`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/json');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(response.headers.get('x-test-header'), 'yes');
    const text = await response.text();
    assert.equal(Number(response.headers.get('content-length')), Buffer.byteLength(text));
    assert.equal(JSON.parse(text).path, 'secret/data/app');
  });

  test('answers a null body with 204', async () => {
    const response = await fetch(`${base}/v1/empty`);
    assert.equal(response.status, 204);
    assert.equal(await response.text(), '');
  });

  test('keeps a non-200 status for a null body', async () => {
    const response = await fetch(`${base}/v1/empty-404`);
    assert.equal(response.status, 404);
    assert.equal(await response.text(), '');
  });

  test('sends a raw text answer as it is', async () => {
    const response = await fetch(`${base}/v1/text`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4');
    assert.equal(await response.text(), 'metric 1\n');
  });

  const expectedStatus: Record<string, number> = {
    BadRequestError: 400,
    CheckAndSetError: 400,
    PermissionDeniedError: 403,
    NotFoundError: 404,
    UnsupportedOperationError: 405,
    PreconditionFailedError: 412,
    PayloadTooLargeError: 413,
    RateLimitError: 429,
    SealedError: 503,
  };
  for (const [name, status] of Object.entries(expectedStatus)) {
    test(`maps ${name} to ${status}`, async () => {
      const response = await fetch(`${base}/v1/throw/${name}`);
      assert.equal(response.status, status);
      assert.equal(response.headers.get('content-type'), 'application/json');
      assert.deepEqual(await response.json(), { errors: [`${name} raised by the test handler`] });
    });
  }

  test('covers every CofferError subclass', () => {
    assert.deepEqual(Object.keys(ERROR_CLASSES).sort(), [...Object.keys(expectedStatus), 'InternalError'].sort());
  });

  test('maps the HTTP layer errors', () => {
    assert.equal(new UnsupportedMediaTypeError('x').status, 415);
  });

  test('hides an InternalError message', async () => {
    const response = await fetch(`${base}/v1/throw/InternalError`);
    assert.equal(response.status, 500);
    assert.deepEqual(await response.json(), { errors: ['internal error'] });
    const logged = server.logs.find((line) => line.msg === 'request failed' && JSON.stringify(line).includes('InternalError raised'));
    assert.ok(logged, 'the InternalError detail is logged');
    assert.equal(logged.level, 50);
  });

  test('maps any other error to 500 and logs it with the request id', async () => {
    const before = server.logs.length;
    const response = await fetch(`${base}/v1/throw/plain`);
    assert.equal(response.status, 500);
    const text = await response.text();
    assert.deepEqual(JSON.parse(text), { errors: ['internal error'] });
    assert.ok(!text.includes(INTERNAL_DETAIL));

    const lines = server.logs.slice(before);
    const failure = lines.find((line) => line.msg === 'request failed');
    assert.ok(failure, 'the failure is logged');
    assert.equal(failure.level, 50);
    const requestId = server.handler.requests.at(-1)!.id;
    assert.equal(failure.request_id, requestId);
    assert.match(JSON.stringify(failure), new RegExp(INTERNAL_DETAIL));
  });

  test('logs a 4xx at info with the request id', async () => {
    const before = server.logs.length;
    await fetch(`${base}/v1/throw/PermissionDeniedError`);
    const line = server.logs.slice(before).find((entry) => entry.msg === 'request rejected');
    assert.ok(line);
    assert.equal(line.level, 30);
    assert.equal(line.status, 403);
    assert.equal(line.code, 'permission_denied');
    assert.equal(line.request_id, server.handler.requests.at(-1)!.id);
  });

  test('keeps tokens out of the log', async () => {
    const token = 'hvs.never-log-this-token';
    await fetch(`${base}/v1/throw/plain`, { headers: { 'X-Vault-Token': token } });
    await fetch(`${base}/v1/throw/BadRequestError`, { headers: { Authorization: `Bearer ${token}` } });
    await fetch(`${base}/v1/secret/data/app`, { headers: { 'X-Vault-Token': token } });
    assert.ok(!JSON.stringify(server.logs).includes(token));
  });
});
