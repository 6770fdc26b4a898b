import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { ResponseEnvelope } from '../../../src/core/answer.js';
import {
  formatRequestLine,
  formatResponseLine,
  hmacWithSalt,
  parseFormatOptions,
  type FormatOptions,
} from '../../../src/core/audit/format.js';
import type { LogicalRequest } from '../../../src/framework/types.js';

const salt = randomBytes(32);
const hash = (s: string) => hmacWithSalt(salt, s);
const time = new Date();
const defaults: FormatOptions = parseFormatOptions({});

function makeRequest(overrides: Partial<LogicalRequest> = {}): LogicalRequest {
  return {
    id: 'req-1',
    operation: 'update',
    path: 'secret/data/app',
    data: { password: 'hunter2', nested: { list: ['a', 1, true, { deep: 'x' }], n: 5, ok: false, none: null } },
    query: {},
    headers: {},
    clientToken: 'hvs.client-token',
    remoteAddress: '127.0.0.1',
    mountType: 'kv',
    mountAccessor: 'kv_1234',
    mountPoint: 'secret/',
    ...overrides,
  };
}

function makeEnvelope(overrides: Partial<ResponseEnvelope> = {}): ResponseEnvelope {
  return {
    request_id: 'req-1',
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data: { value: 'secret-value', version: 3 },
    wrap_info: null,
    warnings: null,
    auth: null,
    mount_type: 'kv',
    ...overrides,
  };
}

const auth = {
  client_token: 'hvs.client-token',
  accessor: 'accessor-abc',
  display_name: 'token',
  policies: ['default', 'app'],
  token_policies: ['default', 'app'],
  metadata: { team: 'ops' },
  entity_id: 'entity-1',
  token_type: 'service',
  token_ttl: 3600,
};

function parseLine(line: string): any {
  assert.ok(line.endsWith('\n'));
  assert.equal(line.indexOf('\n'), line.length - 1);
  return JSON.parse(line);
}

describe('audit request line', () => {
  it('hashes strings in nested data and arrays', () => {
    const entry = parseLine(formatRequestLine({ req: makeRequest(), auth }, defaults, hash, time));
    assert.equal(entry.type, 'request');
    assert.equal(entry.request.data.password, hash('hunter2'));
    assert.deepEqual(entry.request.data.nested, {
      list: [hash('a'), 1, true, { deep: hash('x') }],
      n: 5,
      ok: false,
      none: null,
    });
  });

  it('hashes token and accessor', () => {
    const entry = parseLine(formatRequestLine({ req: makeRequest(), auth }, defaults, hash, time));
    assert.equal(entry.request.client_token, hash('hvs.client-token'));
    assert.equal(entry.request.client_token_accessor, hash('accessor-abc'));
    assert.equal(entry.auth.client_token, hash('hvs.client-token'));
    assert.equal(entry.auth.accessor, hash('accessor-abc'));
    assert.deepEqual(entry.auth.policies, ['default', 'app']);
    assert.equal(entry.auth.token_ttl, 3600);
    assert.deepEqual(entry.auth.metadata, { team: 'ops' });
  });

  it('writes the Vault request fields', () => {
    const entry = parseLine(formatRequestLine({ req: makeRequest({ wrapTtl: 60 }), auth }, defaults, hash, time));
    assert.equal(entry.time, time.toISOString());
    assert.equal(entry.error, '');
    assert.equal(entry.request.id, 'req-1');
    assert.equal(entry.request.operation, 'update');
    assert.equal(entry.request.mount_type, 'kv');
    assert.equal(entry.request.mount_accessor, 'kv_1234');
    assert.deepEqual(entry.request.namespace, { id: 'root' });
    assert.equal(entry.request.path, 'secret/data/app');
    assert.equal(entry.request.remote_address, '127.0.0.1');
    assert.equal(entry.request.wrap_ttl, 60);
  });

  it('keeps strings with log_raw', () => {
    const options = parseFormatOptions({ log_raw: 'true' });
    const line = formatRequestLine({ req: makeRequest(), auth }, options, hash, time);
    const entry = parseLine(line);
    assert.equal(entry.request.data.password, 'hunter2');
    assert.equal(entry.request.client_token, 'hvs.client-token');
    assert.equal(entry.auth.accessor, 'accessor-abc');
    assert.ok(!line.includes('hmac-sha256:'));
  });

  it('keeps accessors when hmac_accessor is false', () => {
    const options = parseFormatOptions({ hmac_accessor: 'false' });
    const entry = parseLine(formatRequestLine({ req: makeRequest(), auth }, options, hash, time));
    assert.equal(entry.auth.accessor, 'accessor-abc');
    assert.equal(entry.request.client_token_accessor, 'accessor-abc');
    assert.equal(entry.auth.client_token, hash('hvs.client-token'));
  });

  it('leaves the input objects unchanged', () => {
    const req = makeRequest();
    const authCopy = structuredClone(auth);
    const before = structuredClone(req);
    formatRequestLine({ req, auth: authCopy }, defaults, hash, time);
    assert.deepEqual(req, before);
    assert.deepEqual(authCopy, auth);
  });

  it('writes prefix before the JSON', () => {
    const options = parseFormatOptions({ prefix: 'AUDIT ' });
    const line = formatRequestLine({ req: makeRequest() }, options, hash, time);
    assert.ok(line.startsWith('AUDIT {'));
    assert.equal(JSON.parse(line.slice('AUDIT '.length)).type, 'request');
  });

  it('writes an empty auth block without a token', () => {
    const entry = parseLine(formatRequestLine({ req: makeRequest({ clientToken: undefined }) }, defaults, hash, time));
    assert.deepEqual(entry.auth, {});
    assert.equal(entry.request.client_token, undefined);
  });

  it('records the error text', () => {
    const entry = parseLine(formatRequestLine({ req: makeRequest(), error: 'permission denied' }, defaults, hash, time));
    assert.equal(entry.error, 'permission denied');
  });
});

describe('audit response line', () => {
  it('hashes response data and keeps numbers', () => {
    const entry = parseLine(formatResponseLine({ req: makeRequest(), auth, response: makeEnvelope(), status: 200 }, defaults, hash, time));
    assert.equal(entry.type, 'response');
    assert.equal(entry.response.data.value, hash('secret-value'));
    assert.equal(entry.response.data.version, 3);
    assert.equal(entry.response.mount_type, 'kv');
  });

  it('hashes login token and wrap token', () => {
    const response = makeEnvelope({
      data: null,
      auth: { client_token: 'hvs.new', accessor: 'acc-new', policies: ['default'], lease_duration: 60 },
      wrap_info: { token: 'hvs.wrap', accessor: 'acc-wrap', wrapped_accessor: 'acc-inner', ttl: 300, creation_path: 'auth/token/create' },
      lease_id: 'secret/creds/abc',
      warnings: ['careful'],
    });
    const entry = parseLine(formatResponseLine({ req: makeRequest(), response, status: 200 }, defaults, hash, time));
    assert.equal(entry.response.auth.client_token, hash('hvs.new'));
    assert.equal(entry.response.auth.accessor, hash('acc-new'));
    assert.deepEqual(entry.response.auth.policies, ['default']);
    assert.equal(entry.response.wrap_info.token, hash('hvs.wrap'));
    assert.equal(entry.response.wrap_info.accessor, hash('acc-wrap'));
    assert.equal(entry.response.wrap_info.wrapped_accessor, hash('acc-inner'));
    assert.equal(entry.response.wrap_info.ttl, 300);
    assert.equal(entry.response.wrap_info.creation_path, 'auth/token/create');
    assert.deepEqual(entry.response.secret, { lease_id: 'secret/creds/abc' });
    assert.deepEqual(entry.response.warnings, ['careful']);
    assert.equal(entry.response.data, undefined);
  });

  it('keeps response accessors when hmac_accessor is false', () => {
    const options = parseFormatOptions({ hmac_accessor: 'false' });
    const response = makeEnvelope({ auth: { client_token: 'hvs.new', accessor: 'acc-new' } });
    const entry = parseLine(formatResponseLine({ req: makeRequest(), response, status: 200 }, options, hash, time));
    assert.equal(entry.response.auth.accessor, 'acc-new');
    assert.equal(entry.response.auth.client_token, hash('hvs.new'));
  });

  it('leaves the envelope unchanged', () => {
    const response = makeEnvelope({
      data: { keys: ['a', 'b'], inner: { list: ['x'] } },
      auth: { client_token: 'hvs.new', accessor: 'acc-new' },
      wrap_info: { token: 'hvs.wrap' },
    });
    const before = structuredClone(response);
    const options = parseFormatOptions({ elide_list_responses: 'true' });
    formatResponseLine({ req: makeRequest({ operation: 'list' }), response, status: 200 }, options, hash, time);
    assert.deepEqual(response, before);
  });

  it('elides list keys when enabled', () => {
    const response = makeEnvelope({ data: { keys: ['a', 'b', 'c'], key_info: { a: {}, b: {} } } });
    const options = parseFormatOptions({ elide_list_responses: 'true' });
    const entry = parseLine(formatResponseLine({ req: makeRequest({ operation: 'list' }), response, status: 200 }, options, hash, time));
    assert.equal(entry.response.data.keys, 3);
    assert.equal(entry.response.data.key_info, 2);
  });

  it('keeps list keys on reads', () => {
    const response = makeEnvelope({ data: { keys: ['a'] } });
    const options = parseFormatOptions({ elide_list_responses: 'true' });
    const entry = parseLine(formatResponseLine({ req: makeRequest({ operation: 'read' }), response, status: 200 }, options, hash, time));
    assert.deepEqual(entry.response.data.keys, [hash('a')]);
  });

  it('writes a response without an envelope', () => {
    const entry = parseLine(formatResponseLine({ req: makeRequest(), status: 500, error: 'internal error' }, defaults, hash, time));
    assert.equal(entry.error, 'internal error');
    assert.equal(entry.response.mount_type, 'kv');
    assert.equal(entry.response.data, undefined);
  });
});

describe('audit format options', () => {
  it('defaults match Vault', () => {
    assert.deepEqual(parseFormatOptions({}), { logRaw: false, hmacAccessor: true, elideListResponses: false, prefix: '' });
  });

  it('rejects jsonx', () => {
    assert.throws(() => parseFormatOptions({ format: 'jsonx' }), { status: 400, message: /jsonx.*not supported/ });
  });

  it('rejects unknown format', () => {
    assert.throws(() => parseFormatOptions({ format: 'xml' }), { status: 400 });
  });

  it('rejects invalid boolean', () => {
    assert.throws(() => parseFormatOptions({ log_raw: 'maybe' }), { status: 400, message: /log_raw/ });
  });

  it('hash has Vault prefix and hex digest', () => {
    assert.match(hash('x'), /^hmac-sha256:[0-9a-f]{64}$/);
    assert.notEqual(hash('x'), hmacWithSalt(randomBytes(32), 'x'));
  });
});

describe('audit auth fallback', () => {
  it('builds auth from the request', () => {
    const req = makeRequest({
      auth: {
        tokenId: 'salted-id',
        accessor: 'accessor-abc',
        policies: ['default'],
        displayName: 'token-app',
        metadata: { team: 'ops' },
        entityId: 'entity-1',
        root: false,
        sudo: false,
      },
    });
    const entry = parseLine(formatRequestLine({ req }, defaults, hash, time));
    assert.equal(entry.auth.client_token, hash('hvs.client-token'));
    assert.equal(entry.auth.accessor, hash('accessor-abc'));
    assert.equal(entry.auth.display_name, 'token-app');
    assert.deepEqual(entry.auth.policies, ['default']);
    assert.equal(entry.auth.entity_id, 'entity-1');
    assert.equal(entry.request.client_token_accessor, hash('accessor-abc'));
  });
});
