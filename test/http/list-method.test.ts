import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ListMethodRewriter } from '../../src/http/list-method.js';
import { chunkedRequest, exchange, json, rawRequest, startTestListener, type TestListener } from './harness.js';

/** Feeds the pieces through a fresh rewriter and returns the rewritten stream and the LINK flags. */
function rewriteAll(pieces: Array<string | Buffer>): { output: string; flags: boolean[]; rewriter: ListMethodRewriter } {
  const rewriter = new ListMethodRewriter();
  const out: Buffer[] = [];
  for (const piece of pieces) {
    const chunk = Buffer.from(piece);
    rewriter.rewrite(chunk);
    out.push(chunk);
  }
  const flags: boolean[] = [];
  for (let i = 0; i < 10; i++) flags.push(rewriter.takeListFlag());
  return { output: Buffer.concat(out).toString('latin1'), flags, rewriter };
}

function bytesOf(text: string): Buffer[] {
  return [...Buffer.from(text)].map((byte) => Buffer.from([byte]));
}

describe('ListMethodRewriter', () => {
  test('rewrites LIST to LINK and queues true', () => {
    const { output, flags } = rewriteAll(['LIST /v1/a HTTP/1.1\r\nHost: x\r\n\r\n']);
    assert.equal(output, 'LINK /v1/a HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.deepEqual(flags.slice(0, 2), [true, false]);
  });

  test('queues false for a real LINK', () => {
    const { output, flags } = rewriteAll(['LINK /v1/a HTTP/1.1\r\n\r\nLIST /v1/b HTTP/1.1\r\n\r\n']);
    assert.equal(output, 'LINK /v1/a HTTP/1.1\r\n\r\nLINK /v1/b HTTP/1.1\r\n\r\n');
    assert.deepEqual(flags.slice(0, 3), [false, true, false]);
  });

  test('leaves other methods alone', () => {
    const input = 'GET /LIST HTTP/1.1\r\nX-List: LIST \r\n\r\nLOCK /v1/a HTTP/1.1\r\n\r\n';
    const { output, flags } = rewriteAll([input]);
    assert.equal(output, input);
    assert.equal(flags[0], false);
  });

  test('handles LIST split byte by byte', () => {
    const input = 'LIST /v1/a HTTP/1.1\r\nHost: x\r\n\r\nLIST /v1/b HTTP/1.1\r\n\r\n';
    const { output, flags } = rewriteAll(bytesOf(input));
    assert.equal(output, input.replaceAll('LIST ', 'LINK '));
    assert.deepEqual(flags.slice(0, 3), [true, true, false]);
  });

  test('skips empty lines before a request', () => {
    const { output, flags } = rewriteAll(['\r\n\r\nLIST /v1/a HTTP/1.1\r\n\r\n']);
    assert.equal(output, '\r\n\r\nLINK /v1/a HTTP/1.1\r\n\r\n');
    assert.equal(flags[0], true);
  });

  test('does not rewrite LIST inside a Content-Length body', () => {
    const body = '\r\n\r\nLIST /v1/x HTTP/1.1\r\n\r\n';
    const input = rawRequest('PUT', '/v1/a', body) + 'LIST /v1/b HTTP/1.1\r\n\r\n';
    const { output, flags } = rewriteAll([input]);
    assert.equal(output, rawRequest('PUT', '/v1/a', body) + 'LINK /v1/b HTTP/1.1\r\n\r\n');
    assert.deepEqual(flags.slice(0, 2), [true, false]);
  });

  test('does not rewrite LIST inside chunked data', () => {
    const pieces = ['LIST /v1/x HTTP/1.1\r\n\r\n', '\r\n0\r\n\r\nLIST '];
    const input = chunkedRequest('POST', '/v1/a', pieces) + 'LIST /v1/b HTTP/1.1\r\n\r\n';
    const { output, flags } = rewriteAll(bytesOf(input));
    assert.equal(output, chunkedRequest('POST', '/v1/a', pieces) + 'LINK /v1/b HTTP/1.1\r\n\r\n');
    assert.deepEqual(flags.slice(0, 2), [true, false]);
  });

  test('follows chunk extensions and trailers', () => {
    const input =
      'POST /v1/a HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n' +
      '5;name=value\r\nLIST \r\n0\r\nX-Trailer: LIST \r\n\r\n' +
      'LIST /v1/b HTTP/1.1\r\n\r\n';
    const { output, flags } = rewriteAll([input]);
    assert.equal(output, input.slice(0, -'LIST /v1/b HTTP/1.1\r\n\r\n'.length) + 'LINK /v1/b HTTP/1.1\r\n\r\n');
    assert.equal(flags[0], true);
  });

  test('reads Content-Length in any case with spaces', () => {
    const input = 'PUT /v1/a HTTP/1.1\r\ncOnTeNt-LeNgTh:   5  \r\n\r\nLIST LIST /v1/b HTTP/1.1\r\n\r\n';
    const { output } = rewriteAll([input]);
    assert.equal(output, 'PUT /v1/a HTTP/1.1\r\ncOnTeNt-LeNgTh:   5  \r\n\r\nLIST LINK /v1/b HTTP/1.1\r\n\r\n');
  });

  test('breaks LISK so it cannot become LINK', () => {
    const { output, flags } = rewriteAll(['LISK /v1/a HTTP/1.1\r\n\r\n']);
    assert.notEqual(output.slice(0, 4), 'LINK');
    assert.equal(flags[0], false);
  });

  const unsafeFramings: Record<string, string> = {
    'both length headers': 'POST /v1/a HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n',
    'duplicate Content-Length': 'POST /v1/a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n',
    'invalid Content-Length': 'POST /v1/a HTTP/1.1\r\nContent-Length: 3x\r\n\r\n',
    'bare LF': 'GET /v1/a HTTP/1.1\nHost: x\n\n',
    'obs-fold': 'GET /v1/a HTTP/1.1\r\nContent-Length:\r\n 3\r\n\r\n',
    'non-chunked transfer coding': 'POST /v1/a HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n',
    'chunked on HTTP/1.0': 'POST /v1/a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n',
    upgrade: 'GET /v1/a HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n',
    'bad chunk size': 'POST /v1/a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    'chunk data without CRLF': 'POST /v1/a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naX',
  };
  for (const [name, head] of Object.entries(unsafeFramings)) {
    test(`stops rewriting after ${name}`, () => {
      const { output, rewriter } = rewriteAll([head + 'LIST /v1/b HTTP/1.1\r\n\r\n']);
      assert.equal(rewriter.passthrough, true);
      assert.ok(output.endsWith('LIST /v1/b HTTP/1.1\r\n\r\n'));
    });
  }
});

describe('LIST over HTTP/1.1', () => {
  let server: TestListener;
  before(async () => {
    server = await startTestListener();
  });
  after(async () => {
    await server.listener.close();
  });

  test('answers LIST on a keep-alive connection', async () => {
    const result = await exchange(server.port, [rawRequest('LIST', '/v1/secret/metadata/'), rawRequest('LIST', '/v1/secret/metadata/app')], {
      responses: 2,
      writeDelayMs: 20,
    });
    assert.equal(result.responses.length, 2);
    for (const response of result.responses) {
      assert.equal(response.status, 200);
      assert.equal(response.headers.connection, 'keep-alive');
      assert.equal(json(response).operation, 'list');
    }
    assert.equal(json(result.responses[0]).path, 'secret/metadata/');
    assert.equal(json(result.responses[1]).path, 'secret/metadata/app/');
  });

  test('answers pipelined LIST, GET and PUT in one write', async () => {
    const stream =
      rawRequest('LIST', '/v1/one/') +
      rawRequest('PUT', '/v1/two', '{"value":"LIST /v1/x HTTP/1.1\\r\\n"}') +
      rawRequest('GET', '/v1/three?x=1') +
      chunkedRequest('POST', '/v1/four', ['{"a":', '"LIST "}']) +
      rawRequest('LINK', '/v1/five') +
      rawRequest('LIST', '/v1/six');
    const result = await exchange(server.port, [stream], { responses: 6 });
    assert.deepEqual(
      result.responses.map((response) => response.status),
      [200, 200, 200, 200, 405, 200],
    );
    const bodies = result.responses.map(json);
    assert.deepEqual([bodies[0].operation, bodies[0].path], ['list', 'one/']);
    assert.deepEqual([bodies[1].operation, bodies[1].data], ['update', { value: 'LIST /v1/x HTTP/1.1\r\n' }]);
    assert.deepEqual([bodies[2].operation, bodies[2].data], ['read', { x: '1' }]);
    assert.deepEqual([bodies[3].operation, bodies[3].data], ['update', { a: 'LIST ' }]);
    assert.match(bodies[4].errors[0], /unsupported method LINK/);
    assert.deepEqual([bodies[5].operation, bodies[5].path], ['list', 'six/']);
  });

  test('answers LIST split byte by byte', async () => {
    const request = rawRequest('LIST', '/v1/split/path', undefined, { 'X-Vault-Token': 'abc' });
    const result = await exchange(server.port, bytesOf(request), { responses: 1, writeDelayMs: 1 });
    assert.equal(result.responses.length, 1);
    assert.equal(result.responses[0].status, 200);
    assert.equal(json(result.responses[0]).operation, 'list');
    assert.equal(json(result.responses[0]).path, 'split/path/');
  });

  test('answers a real LINK with 405', async () => {
    const result = await exchange(server.port, [rawRequest('LINK', '/v1/secret/a'), rawRequest('LIST', '/v1/secret/')], {
      responses: 2,
    });
    assert.equal(result.responses[0].status, 405);
    assert.equal(result.responses[1].status, 200);
    assert.equal(json(result.responses[1]).operation, 'list');
  });

  test('keeps LINK distinct after a Host-less LIST', async () => {
    // Node would reject a Host-less HTTP/1.1 request itself, so its LIST flag would stay queued.
    const stream = 'LIST /v1/no-host HTTP/1.1\r\n\r\n' + rawRequest('LINK', '/v1/a') + rawRequest('LIST', '/v1/b');
    const result = await exchange(server.port, [stream], { responses: 3 });
    assert.deepEqual(
      result.responses.map((response) => response.status),
      [400, 405, 200],
    );
    assert.match(json(result.responses[0]).errors[0], /missing required Host header/);
  });

  test('GET with list=true equals LIST', async () => {
    const result = await exchange(server.port, [rawRequest('GET', '/v1/secret/metadata?list=true&after=b'), rawRequest('LIST', '/v1/secret/metadata?after=b')], {
      responses: 2,
    });
    const [viaGet, viaList] = result.responses.map(json);
    assert.equal(viaGet.operation, 'list');
    assert.equal(viaGet.path, viaList.path);
    assert.deepEqual(viaGet.data, viaList.data);
    assert.deepEqual(viaGet.data, { after: 'b' });
    assert.equal(viaList.query.after, 'b');
  });

  test('answers malformed framing with 400 and keeps serving', async () => {
    const malformed = 'POST /v1/a HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' + rawRequest('LIST', '/v1/b');
    const result = await exchange(server.port, [malformed]);
    assert.equal(result.closed, true);
    assert.equal(result.responses[0]?.status, 400);

    const next = await exchange(server.port, [rawRequest('LIST', '/v1/b')], { responses: 1 });
    assert.equal(next.responses[0].status, 200);
  });
});
