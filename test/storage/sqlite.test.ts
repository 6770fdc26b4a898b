import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SqlitePhysical } from '../../src/storage/sqlite.js';
import { describePhysicalContract } from './physical-contract.js';

const KEYS_PER_TRANSACTION = 20;

const workDir = mkdtempSync(join(tmpdir(), 'coffer-sqlite-test-'));
let fileCount = 0;
const nextPath = () => join(workDir, `store-${fileCount++}.db`);

after(() => rmSync(workDir, { recursive: true, force: true }));

describePhysicalContract('sqlite', async () => SqlitePhysical.open(nextPath()));

describe('sqlite storage', () => {
  it('keeps data across close and reopen', async () => {
    const path = nextPath();
    const first = SqlitePhysical.open(path);
    await first.put('a/b', Buffer.from('one'));
    await first.transaction([
      { op: 'put', key: 'a/c', value: Buffer.from('two') },
      { op: 'put', key: 'd', value: Buffer.from('three') },
    ]);
    await first.delete('d');
    await first.close();

    const second = SqlitePhysical.open(path);
    assert.deepEqual(await second.get('a/b'), Buffer.from('one'));
    assert.deepEqual(await second.get('a/c'), Buffer.from('two'));
    assert.equal(await second.get('d'), null);
    assert.deepEqual(await second.list(''), ['a/']);
    await second.close();
  });

  it('creates the file with mode 0600', async () => {
    const path = nextPath();
    const store = SqlitePhysical.open(path);
    await store.put('k', Buffer.from('v'));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(`${path}-wal`).mode & 0o777, 0o600);
    await store.close();
  });

  it('reports a missing directory', () => {
    const path = join(workDir, 'no-such-dir', 'x.db');
    assert.throws(() => SqlitePhysical.open(path), (err: Error) => err.message.includes(path));
  });

  it('list queries search the key index', async () => {
    const store = SqlitePhysical.open(nextPath());
    for (const plan of store.explainListQueries()) {
      assert.match(plan, /^SEARCH entries USING PRIMARY KEY \(key>\?( AND key<\?)?\)$/);
    }
    await store.close();
  });

  describe('listing 200k keys in 2k folders', () => {
    let store: SqlitePhysical;

    before(async () => {
      store = SqlitePhysical.open(nextPath());
      const ops = [];
      for (let folder = 0; folder < 2000; folder++) {
        for (let key = 0; key < 100; key++) {
          const name = `mount/${String(folder).padStart(4, '0')}/${String(key).padStart(3, '0')}`;
          ops.push({ op: 'put' as const, key: name, value: Buffer.from('x') });
        }
      }
      await store.transaction(ops);
    });

    after(async () => {
      await store.close();
    });

    it('first page reads about one row per folder', async () => {
      store.listRowsRead = 0;
      const page = await store.list('mount/', { limit: 100 });
      assert.equal(page.length, 100);
      assert.equal(page[0], '0000/');
      assert.equal(page[99], '0099/');
      assert.ok(store.listRowsRead <= 100, `read ${store.listRowsRead} rows`);
    });

    it('page after a folder reads few rows', async () => {
      store.listRowsRead = 0;
      const page = await store.list('mount/', { after: '1500/', limit: 100 });
      assert.deepEqual(page.slice(0, 2), ['1501/', '1502/']);
      assert.equal(page.length, 100);
      assert.ok(store.listRowsRead <= 100, `read ${store.listRowsRead} rows`);
    });

    it('page inside a folder reads few rows', async () => {
      store.listRowsRead = 0;
      const page = await store.list('mount/1234/', { after: '049', limit: 10 });
      assert.equal(page[0], '050');
      assert.equal(page.length, 10);
      assert.ok(store.listRowsRead <= 10, `read ${store.listRowsRead} rows`);
    });

    it('full listing reads one row per folder', async () => {
      store.listRowsRead = 0;
      const all = await store.list('mount/');
      assert.equal(all.length, 2000);
      assert.ok(store.listRowsRead <= 2000, `read ${store.listRowsRead} rows`);
    });
  });

  it('killed writer leaves whole transactions', async () => {
    const path = nextPath();
    const writer = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', writer, path, String(KEYS_PER_TRANSACTION)], { stdio: ['ignore', 'pipe', 'inherit'] });

    // Kill the writer once it has acknowledged a good number of transactions, mid-stream.
    let output = '';
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code) => reject(new Error(`writer exited early with code ${code}`)));
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.split('\n').length > 60) resolve();
      });
    });
    child.kill('SIGKILL');
    await exited;

    const acknowledged = output.split('\n').filter((line) => /^\d+$/.test(line)).map(Number);
    const lastAcknowledged = Math.max(...acknowledged);

    const store = SqlitePhysical.open(path);
    const transactions = await store.list('tx/');
    assert.ok(transactions.length > lastAcknowledged, 'every acknowledged transaction is present');
    for (const folder of transactions) {
      const n = Number(folder.slice(0, -1));
      const keys = await store.list(`tx/${folder}`);
      assert.equal(keys.length, KEYS_PER_TRANSACTION, `transaction ${n} has ${keys.length} of ${KEYS_PER_TRANSACTION} keys`);
      const value = await store.get(`tx/${folder}0`);
      assert.ok(value?.subarray(0, String(n).length + 1).equals(Buffer.from(`${n}:`)));
    }

    // Transactions ran in order, so the present ones are exactly 0..k-1.
    const numbers = transactions.map((folder) => Number(folder.slice(0, -1))).sort((x, y) => x - y);
    assert.deepEqual(numbers, numbers.map((_, i) => i));
    await store.close();
  });
});
