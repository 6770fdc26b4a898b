import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ListMethodRewriter } from '../../src/http/list-method.js';
import { chunkedRequest, exchange, json, rawRequest, startTestListener, type TestListener } from './harness.js';

/** A small seeded generator (mulberry32), so a failing case can be replayed from its seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.COFFER_FUZZ_SEED ?? 20240601);

function pick<T>(random: () => number, items: T[]): T {
  return items[Math.floor(random() * items.length)];
}

/** Builds a stream of valid requests and returns it with the methods in order. */
function validStream(random: () => number): { text: string; methods: string[] } {
  const methods: string[] = [];
  let text = '';
  const count = 1 + Math.floor(random() * 5);
  for (let i = 0; i < count; i++) {
    const kind = pick(random, ['LIST', 'GET', 'PUT', 'CHUNKED', 'LINK']);
    const body = JSON.stringify({ note: pick(random, ['LIST /v1/x HTTP/1.1\r\n\r\n', 'plain', '0\r\n\r\n']) });
    if (kind === 'LIST') text += rawRequest('LIST', `/v1/list/${i}`);
    else if (kind === 'GET') text += rawRequest('GET', `/v1/get/${i}`);
    else if (kind === 'PUT') text += rawRequest('PUT', `/v1/put/${i}`, body);
    else if (kind === 'LINK') text += rawRequest('LINK', `/v1/link/${i}`);
    else text += chunkedRequest('POST', `/v1/chunked/${i}`, [body.slice(0, 5), body.slice(5)]);
    methods.push(kind === 'CHUNKED' ? 'POST' : kind);
  }
  return { text, methods };
}

/** Splits bytes at random points. */
function splitRandomly(random: () => number, bytes: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const size = 1 + Math.floor(random() * Math.min(40, bytes.length - pos));
    pieces.push(Buffer.from(bytes.subarray(pos, pos + size)));
    pos += size;
  }
  return pieces;
}

/** Flips, inserts, deletes or truncates a few bytes of a valid stream. */
function mutate(random: () => number, bytes: Buffer): Buffer {
  const interesting = [0x0d, 0x0a, 0x20, 0x3a, 0x3b, 0x30, 0x4c, 0x53, 0x54, 0x00, 0xff];
  let out = Buffer.from(bytes);
  const edits = 1 + Math.floor(random() * 4);
  for (let i = 0; i < edits && out.length > 0; i++) {
    const at = Math.floor(random() * out.length);
    const byte = random() < 0.6 ? pick(random, interesting) : Math.floor(random() * 256);
    const edit = Math.floor(random() * 4);
    if (edit === 0) out[at] = byte;
    else if (edit === 1) out = Buffer.concat([out.subarray(0, at), Buffer.from([byte]), out.subarray(at)]);
    else if (edit === 2) out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
    else out = out.subarray(0, at);
  }
  return out;
}

function randomBytes(random: () => number): Buffer {
  const length = 1 + Math.floor(random() * 300);
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

describe('ListMethodRewriter fuzz', () => {
  test('random splits give the same output as one chunk', () => {
    const random = seededRandom(SEED);
    for (let round = 0; round < 300; round++) {
      const source = random() < 0.5 ? Buffer.from(validStream(random).text) : mutate(random, Buffer.from(validStream(random).text));

      const whole = Buffer.from(source);
      const wholeRewriter = new ListMethodRewriter();
      wholeRewriter.rewrite(whole);

      const splitRewriter = new ListMethodRewriter();
      const pieces = splitRandomly(random, source);
      for (const piece of pieces) splitRewriter.rewrite(piece);

      assert.equal(Buffer.concat(pieces).toString('latin1'), whole.toString('latin1'), `seed ${SEED} round ${round}`);
      for (let i = 0; i < 8; i++) {
        assert.equal(splitRewriter.takeListFlag(), wholeRewriter.takeListFlag(), `seed ${SEED} round ${round} flag ${i}`);
      }
    }
  });

  test('valid streams map LIST to LINK one to one', () => {
    const random = seededRandom(SEED + 1);
    for (let round = 0; round < 300; round++) {
      const { text, methods } = validStream(random);
      const rewriter = new ListMethodRewriter();
      const pieces = splitRandomly(random, Buffer.from(text));
      for (const piece of pieces) rewriter.rewrite(piece);

      assert.equal(rewriter.passthrough, false, `seed ${SEED + 1} round ${round}`);
      const expectedFlags = methods.filter((m) => m === 'LIST' || m === 'LINK').map((m) => m === 'LIST');
      const flags = expectedFlags.map(() => rewriter.takeListFlag());
      assert.deepEqual(flags, expectedFlags, `seed ${SEED + 1} round ${round}`);
    }
  });
});

describe('server fuzz', () => {
  let server: TestListener;
  before(async () => {
    server = await startTestListener({ maxRequestSize: 4096 });
  });
  after(async () => {
    await server.listener.close();
  });

  async function assertStillServing(context: string): Promise<void> {
    const result = await exchange(server.port, [rawRequest('LIST', '/v1/health/check')], { responses: 1, timeoutMs: 3000 });
    assert.equal(result.responses.length, 1, `no answer after ${context}`);
    assert.equal(result.responses[0].status, 200, context);
    assert.equal(json(result.responses[0]).operation, 'list', context);
  }

  test('valid streams split randomly are answered in order', async () => {
    const random = seededRandom(SEED + 2);
    for (let round = 0; round < 20; round++) {
      const { text, methods } = validStream(random);
      const result = await exchange(server.port, splitRandomly(random, Buffer.from(text)), {
        responses: methods.length,
        writeDelayMs: 1,
      });
      const expected = methods.map((m) => (m === 'LINK' ? 405 : 200));
      assert.deepEqual(
        result.responses.map((r) => r.status),
        expected,
        `seed ${SEED + 2} round ${round}`,
      );
      const listAnswers = result.responses.filter((_, i) => methods[i] === 'LIST').map(json);
      for (const body of listAnswers) assert.equal(body.operation, 'list');
    }
  });

  test('random bytes and mutated requests never stop the server', async () => {
    const random = seededRandom(SEED + 3);
    const batches = 8;
    const perBatch = 20;
    for (let batch = 0; batch < batches; batch++) {
      const cases: Buffer[] = [];
      for (let i = 0; i < perBatch; i++) {
        cases.push(random() < 0.3 ? randomBytes(random) : mutate(random, Buffer.from(validStream(random).text)));
      }
      // A truncated request leaves the server waiting for more bytes, as it should, so each
      // connection gets a short time and is then closed by the client.
      const results = await Promise.all(
        cases.map((bytes) => exchange(server.port, splitRandomly(random, bytes), { timeoutMs: 400 })),
      );
      for (const result of results) {
        for (const response of result.responses) {
          const context = `seed ${SEED + 3} batch ${batch}: ${result.raw.toString('latin1')}`;
          assert.ok(response.status >= 200, context);
          assert.ok(response.status < 600, context);
        }
      }
      await assertStillServing(`seed ${SEED + 3} batch ${batch}`);
    }
  });
});
