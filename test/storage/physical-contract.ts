// Shared tests that every Physical backend must pass. Each backend's test file calls
// `describePhysicalContract` with a function that opens a fresh, empty store.
import assert from 'node:assert/strict';
import { describe, it, beforeEach, afterEach } from 'node:test';
import type { Physical } from '../../src/storage/physical.js';

const FIXTURE_KEYS = [
  'a',
  'a/b',
  'a/c/d',
  'a/c/e',
  'a/c/f/g',
  'a-x',
  'a0',
  'b',
  'z/deep/er/key',
  'é',
  'ü/x',
  '\uFFFD',
  '\u{1F600}',
  '\u{1F600}/inner',
];

const TOP_LEVEL = ['a', 'a-x', 'a/', 'a0', 'b', 'z/', 'é', 'ü/', '\uFFFD', '\u{1F600}', '\u{1F600}/'];

interface ListCase {
  name: string;
  prefix: string;
  after?: string;
  limit?: number;
  expected: string[];
}

const LIST_CASES: ListCase[] = [
  { name: 'empty prefix lists top level in byte order', prefix: '', expected: TOP_LEVEL },
  { name: 'folder children', prefix: 'a/', expected: ['b', 'c/'] },
  { name: 'nested folder', prefix: 'a/c/', expected: ['d', 'e', 'f/'] },
  { name: 'deepest folder', prefix: 'a/c/f/', expected: ['g'] },
  { name: 'missing folder', prefix: 'missing/', expected: [] },
  { name: 'prefix without slash', prefix: 'a/c', expected: ['/'] },
  { name: 'chain of single folders', prefix: 'z/', expected: ['deep/'] },
  { name: 'unicode folder', prefix: 'ü/', expected: ['x'] },
  { name: 'astral folder', prefix: '\u{1F600}/', expected: ['inner'] },
  { name: 'prefix equal to a key', prefix: 'a/b', expected: [] },
  { name: 'after a key that is also a folder name', prefix: '', after: 'a', expected: TOP_LEVEL.slice(1) },
  { name: 'after a folder skips its keys', prefix: '', after: 'a/', expected: TOP_LEVEL.slice(3) },
  { name: 'after inside a folder', prefix: '', after: 'a/c', expected: TOP_LEVEL.slice(3) },
  { name: 'after inside a nested folder', prefix: 'a/', after: 'c/e', expected: [] },
  { name: 'after between children', prefix: 'a/c/', after: 'da', expected: ['e', 'f/'] },
  { name: 'after before every child', prefix: 'a/c/', after: '0', expected: ['d', 'e', 'f/'] },
  { name: 'after past every child', prefix: '', after: '\u{1F601}', expected: [] },
  { name: 'after between BMP and astral', prefix: '', after: '\uFFFF', expected: ['\u{1F600}', '\u{1F600}/'] },
  { name: 'limit 1', prefix: '', limit: 1, expected: ['a'] },
  { name: 'limit 1 lands on a folder', prefix: '', after: 'a-x', limit: 1, expected: ['a/'] },
  { name: 'limit 2 after a folder', prefix: '', after: 'a/', limit: 2, expected: ['a0', 'b'] },
  { name: 'limit larger than result', prefix: 'a/', limit: 10, expected: ['b', 'c/'] },
  { name: 'limit 0 means no limit', prefix: '', limit: 0, expected: TOP_LEVEL },
  { name: 'negative limit means no limit', prefix: 'a/', limit: -1, expected: ['b', 'c/'] },
];

/** Lists the children of `prefix` among `keys` the slow, obvious way, sorting by UTF-8 bytes. */
function referenceList(keys: Iterable<string>, prefix: string, after: string, limit: number): string[] {
  const children = new Set<string>();
  for (const key of keys) {
    if (!key.startsWith(prefix) || key === prefix) continue;
    const rest = key.slice(prefix.length);
    const slash = rest.indexOf('/');
    children.add(slash === -1 ? rest : rest.slice(0, slash + 1));
  }
  const byBytes = (x: string, y: string) => Buffer.compare(Buffer.from(x), Buffer.from(y));
  const sorted = [...children].sort(byBytes).filter((c) => after === '' || byBytes(c, after) > 0);
  return limit > 0 ? sorted.slice(0, limit) : sorted;
}

/** A small deterministic pseudo-random generator (mulberry32), so failures can be replayed. */
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

export function describePhysicalContract(name: string, open: () => Promise<Physical>): void {
  describe(`${name} physical contract`, () => {
    let store: Physical;

    beforeEach(async () => {
      store = await open();
    });

    afterEach(async () => {
      await store.close();
    });

    describe('list', () => {
      beforeEach(async () => {
        for (const key of FIXTURE_KEYS) await store.put(key, Buffer.from(key));
      });

      for (const c of LIST_CASES) {
        it(c.name, async () => {
          const listed = await store.list(c.prefix, { after: c.after, limit: c.limit });
          assert.deepEqual(listed, c.expected);
        });
      }

      it('pages cover the full listing', async () => {
        for (const limit of [1, 2, 3, 4]) {
          for (const prefix of ['', 'a/', 'a/c/']) {
            const pages: string[] = [];
            let after = '';
            for (;;) {
              const page = await store.list(prefix, { after, limit });
              assert.ok(page.length <= limit, `page longer than limit ${limit}`);
              if (page.length === 0) break;
              pages.push(...page);
              after = page[page.length - 1];
            }
            assert.deepEqual(pages, await store.list(prefix), `limit ${limit}, prefix "${prefix}"`);
          }
        }
      });

      it('folder disappears when its last key goes', async () => {
        await store.delete('a/b');
        await store.delete('a/c/d');
        await store.delete('a/c/e');
        await store.delete('a/c/f/g');
        const listed = await store.list('');
        assert.ok(listed.includes('a'));
        assert.ok(!listed.includes('a/'));
      });

      it('rejects invalid options', async () => {
        await assert.rejects(store.list('', { limit: 1.5 }), /limit/);
        await assert.rejects(store.list('', { after: '\uD800' }), /after/);
        await assert.rejects(store.list('\uDC00'), /prefix/);
      });
    });

    it('matches a reference listing on random keys', async () => {
      const random = seededRandom(20240611);
      const alphabet = ['a', 'b', '/', '-', '0', 'é', '\u{1F600}'];
      const pick = () => alphabet[Math.floor(random() * alphabet.length)];
      const keys = new Set<string>();
      for (let i = 0; i < 300; i++) {
        let key = '';
        const length = 1 + Math.floor(random() * 6);
        for (let j = 0; j < length; j++) key += pick();
        keys.add(key);
      }
      await store.transaction([...keys].map((key) => ({ op: 'put' as const, key, value: Buffer.from('v') })));

      for (let i = 0; i < 400; i++) {
        const source = [...keys][Math.floor(random() * keys.size)];
        const prefix = random() < 0.2 ? '' : Array.from(source).slice(0, Math.floor(random() * 4)).join('');
        const after = random() < 0.5 ? '' : pick() + (random() < 0.5 ? pick() : '');
        const limit = Math.floor(random() * 5);
        const listed = await store.list(prefix, { after, limit });
        const expected = referenceList(keys, prefix, after, limit);
        assert.deepEqual(listed, expected, `prefix ${JSON.stringify(prefix)} after ${JSON.stringify(after)} limit ${limit}`);
      }
    });

    it('get returns null for a missing key', async () => {
      assert.equal(await store.get('nothing/here'), null);
    });

    it('put overwrites and delete removes', async () => {
      await store.put('k', Buffer.from('one'));
      await store.put('k', Buffer.from('two'));
      assert.deepEqual(await store.get('k'), Buffer.from('two'));
      await store.delete('k');
      assert.equal(await store.get('k'), null);
      await store.delete('k');
      assert.equal(await store.get('k'), null);
    });

    it('stores empty and binary values', async () => {
      const binary = Buffer.from([0, 255, 0, 1, 128]);
      await store.put('empty', Buffer.alloc(0));
      await store.put('binary', binary);
      assert.deepEqual(await store.get('empty'), Buffer.alloc(0));
      assert.deepEqual(await store.get('binary'), binary);
    });

    it('copies values on put and get', async () => {
      const value = Buffer.from('original');
      await store.put('k', value);
      value.fill(0);
      const read = await store.get('k');
      assert.deepEqual(read, Buffer.from('original'));
      read?.fill(0);
      assert.deepEqual(await store.get('k'), Buffer.from('original'));
    });

    it('rejects invalid keys and values', async () => {
      await assert.rejects(store.put('', Buffer.from('x')), /non-empty/);
      await assert.rejects(store.put('bad\uD800', Buffer.from('x')), /surrogate/);
      await assert.rejects(store.get('\uDFFF'), /surrogate/);
      await assert.rejects(store.put('k', 'text' as unknown as Buffer), /Buffer/);
      assert.deepEqual(await store.list(''), []);
    });

    it('transaction applies every operation', async () => {
      await store.put('old', Buffer.from('x'));
      await store.transaction([
        { op: 'put', key: 't/1', value: Buffer.from('1') },
        { op: 'put', key: 't/2', value: Buffer.from('2') },
        { op: 'delete', key: 'old' },
        { op: 'delete', key: 'never-existed' },
      ]);
      assert.deepEqual(await store.get('t/1'), Buffer.from('1'));
      assert.deepEqual(await store.get('t/2'), Buffer.from('2'));
      assert.equal(await store.get('old'), null);
      assert.deepEqual(await store.list('t/'), ['1', '2']);
    });

    it('transaction later op wins on same key', async () => {
      await store.transaction([
        { op: 'put', key: 'k', value: Buffer.from('first') },
        { op: 'put', key: 'k', value: Buffer.from('second') },
        { op: 'put', key: 'gone', value: Buffer.from('x') },
        { op: 'delete', key: 'gone' },
      ]);
      assert.deepEqual(await store.get('k'), Buffer.from('second'));
      assert.equal(await store.get('gone'), null);
    });

    it('transaction with a bad op applies nothing', async () => {
      await store.put('kept', Buffer.from('before'));
      const badOps: unknown[][] = [
        [{ op: 'put', key: 'kept', value: Buffer.from('after') }, { op: 'put', key: 'x', value: 'not a buffer' }],
        [{ op: 'delete', key: 'kept' }, { op: 'put', key: '', value: Buffer.from('x') }],
        [{ op: 'put', key: 'new', value: Buffer.from('x') }, { op: 'rename', key: 'kept' }],
        [{ op: 'put', key: 'new', value: Buffer.from('x') }, null],
        [{ op: 'put', key: 'new', value: Buffer.from('x') }, { op: 'delete', key: '\uD800' }],
      ];
      for (const ops of badOps) {
        await assert.rejects(store.transaction(ops as never));
        assert.deepEqual(await store.get('kept'), Buffer.from('before'));
        assert.equal(await store.get('new'), null);
        assert.equal(await store.get('x'), null);
        assert.deepEqual(await store.list(''), ['kept']);
      }
    });

    it('empty transaction is a no-op', async () => {
      await store.transaction([]);
      assert.deepEqual(await store.list(''), []);
    });
  });
}
