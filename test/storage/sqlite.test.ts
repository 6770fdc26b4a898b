import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { SqlitePhysical } from '../../src/storage/sqlite.js';
import { describePhysicalContract } from './physical-contract.js';

const KEYS_PER_TRANSACTION = 20;

const workDir = mkdtempSync(join(tmpdir(), 'coffer-sqlite-test-'));
let fileCount = 0;
const nextPath = () => join(workDir, `store-${fileCount++}.db`);

after(() => rmSync(workDir, { recursive: true, force: true }));

describePhysicalContract('sqlite', async () => SqlitePhysical.open(nextPath()));

// `:memory:` commits on the calling thread rather than on a writer thread.
describePhysicalContract('sqlite in memory', async () => SqlitePhysical.open(':memory:'));

/**
 * Runs the crash writer until it has acknowledged a good number of transactions, kills it with
 * SIGKILL mid-stream, and returns the transaction numbers it acknowledged.
 */
async function runCrashWriter(path: string, concurrency: number): Promise<number[]> {
  const writer = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
  const args = ['--import', 'tsx', writer, path, String(KEYS_PER_TRANSACTION), String(concurrency)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });

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

  return output.split('\n').filter((line) => /^\d+$/.test(line)).map(Number);
}

/**
 * Adds triggers through a second connection: a put of `poison` fails its statement, and a put of
 * `rollback-all` makes SQLite roll back the whole open transaction.
 */
function addFailureTriggers(path: string): void {
  const db = new Database(path);
  try {
    db.exec(`
      CREATE TRIGGER poison BEFORE INSERT ON entries WHEN NEW.key = 'poison'
        BEGIN SELECT RAISE(ABORT, 'poisoned key'); END;
      CREATE TRIGGER rollback_all BEFORE INSERT ON entries WHEN NEW.key = 'rollback-all'
        BEGIN SELECT RAISE(ROLLBACK, 'rolled back'); END;
    `);
  } finally {
    db.close();
  }
}

describe('sqlite group commit', () => {
  it('commits same-tick writes together', async () => {
    const path = nextPath();
    const store = SqlitePhysical.open(path);
    const before = store.commitCount;

    const writes: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) writes.push(store.put(`put/${i}`, Buffer.from(`value ${i}`)));
    for (let i = 0; i < 50; i++) {
      writes.push(
        store.transaction([
          { op: 'put', key: `tx/${i}/a`, value: Buffer.from(`a${i}`) },
          { op: 'put', key: `tx/${i}/b`, value: Buffer.from(`b${i}`) },
        ]),
      );
    }
    for (let i = 0; i < 200; i += 2) writes.push(store.delete(`put/${i}`));
    await Promise.all(writes);
    assert.equal(store.commitCount - before, 1);
    await store.close();

    const reopened = SqlitePhysical.open(path);
    assert.equal((await reopened.list('put/')).length, 100);
    assert.equal(await reopened.get('put/0'), null);
    assert.deepEqual(await reopened.get('put/199'), Buffer.from('value 199'));
    assert.equal((await reopened.list('tx/')).length, 50);
    assert.deepEqual(await reopened.get('tx/49/b'), Buffer.from('b49'));
    await reopened.close();
  });

  it('writes queued behind a commit share the next', async () => {
    const path = nextPath();
    const store = SqlitePhysical.open(path);
    const before = store.commitCount;

    const first = store.put('first', Buffer.from('1'));
    // One check phase later the first commit is running on the writer thread.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const queued: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) queued.push(store.put(`queued/${i}`, Buffer.from(String(i))));
    await first;
    await Promise.all(queued);
    assert.equal(store.commitCount - before, 2);
    assert.equal((await store.list('queued/')).length, 20);
    await store.close();
  });

  it('in-memory store batches too', async () => {
    const store = SqlitePhysical.open(':memory:');
    const writes = [];
    for (let i = 0; i < 10; i++) writes.push(store.put(`k/${i}`, Buffer.from(String(i))));
    await Promise.all(writes);
    assert.equal(store.commitCount, 1);
    assert.equal((await store.list('k/')).length, 10);
    await store.close();
  });

  it('applies same-key writes in call order', async () => {
    const store = SqlitePhysical.open(nextPath());
    const writes = [
      store.put('k', Buffer.from('first')),
      store.transaction([{ op: 'put', key: 'k', value: Buffer.from('second') }]),
      store.delete('k'),
      store.put('k', Buffer.from('last')),
    ];
    await Promise.all(writes);
    assert.deepEqual(await store.get('k'), Buffer.from('last'));
    await store.close();
  });

  it('reads see a write once it resolves', async () => {
    const store = SqlitePhysical.open(nextPath());
    const write = store.put('k', Buffer.from('new'));
    assert.equal(await store.get('k'), null, 'a write that has not resolved is not visible');
    await write;
    assert.deepEqual(await store.get('k'), Buffer.from('new'));
    await store.close();
  });

  it('invalid caller rejected alone', async () => {
    const path = nextPath();
    const store = SqlitePhysical.open(path);
    const good = store.put('good/1', Buffer.from('1'));
    const bad = store.transaction([
      { op: 'put', key: 'bad/1', value: Buffer.from('x') },
      { op: 'put', key: 'bad/2', value: 'not a buffer' as unknown as Buffer },
    ]);
    const alsoGood = store.transaction([{ op: 'put', key: 'good/2', value: Buffer.from('2') }]);

    await assert.rejects(bad, /value must be a Buffer/);
    await good;
    await alsoGood;
    await store.close();

    const reopened = SqlitePhysical.open(path);
    assert.deepEqual(await reopened.list(''), ['good/']);
    assert.deepEqual(await reopened.list('good/'), ['1', '2']);
    await reopened.close();
  });

  it('failing statement rolls back only its caller', async () => {
    const path = nextPath();
    await SqlitePhysical.open(path).close();
    addFailureTriggers(path);
    const store = SqlitePhysical.open(path);
    const before = store.commitCount;

    const first = store.put('good/1', Buffer.from('1'));
    const failing = store.transaction([
      { op: 'put', key: 'half', value: Buffer.from('x') },
      { op: 'put', key: 'poison', value: Buffer.from('x') },
    ]);
    const last = store.put('good/2', Buffer.from('2'));

    await assert.rejects(failing, /poisoned key/);
    await first;
    await last;
    assert.equal(store.commitCount - before, 1);
    await store.close();

    const reopened = SqlitePhysical.open(path);
    assert.deepEqual(await reopened.list(''), ['good/']);
    assert.equal(await reopened.get('half'), null);
    await reopened.close();
  });

  it('failed batch rejects every caller', async () => {
    const path = nextPath();
    await SqlitePhysical.open(path).close();
    addFailureTriggers(path);
    const store = SqlitePhysical.open(path);

    const first = store.put('batch/1', Buffer.from('1'));
    const failing = store.put('rollback-all', Buffer.from('x'));
    const last = store.put('batch/2', Buffer.from('2'));
    const outcomes = await Promise.allSettled([first, failing, last]);
    for (const outcome of outcomes) {
      assert.equal(outcome.status, 'rejected');
      assert.match(String((outcome as PromiseRejectedResult).reason), /committing 3 writes to SQLite: rolled back/);
    }
    assert.deepEqual(await store.list(''), []);

    // The store keeps working after a failed batch.
    await store.put('after', Buffer.from('ok'));
    assert.deepEqual(await store.get('after'), Buffer.from('ok'));
    await store.close();
  });

  it('close commits waiting writes', async () => {
    const path = nextPath();
    const store = SqlitePhysical.open(path);
    const write = store.put('k', Buffer.from('v'));
    await store.close();
    await write;
    await assert.rejects(store.put('late', Buffer.from('v')), /store is closed/);

    const reopened = SqlitePhysical.open(path);
    assert.deepEqual(await reopened.get('k'), Buffer.from('v'));
    await reopened.close();
  });

  it('copies values when a write is called', async () => {
    const store = SqlitePhysical.open(nextPath());
    const value = Buffer.from('original');
    const write = store.transaction([{ op: 'put', key: 'k', value }]);
    value.fill(0);
    await write;
    assert.deepEqual(await store.get('k'), Buffer.from('original'));
    await store.close();
  });
});

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

  for (const concurrency of [1, 8]) {
    it(`killed writer leaves whole transactions, ${concurrency} at a time`, async () => {
      const path = nextPath();
      const acknowledged = await runCrashWriter(path, concurrency);
      assert.ok(acknowledged.length > 0, 'the writer acknowledged no transaction');
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

      // Transactions commit in the order they started, so the present ones are exactly 0..k-1.
      const numbers = transactions.map((folder) => Number(folder.slice(0, -1))).sort((x, y) => x - y);
      assert.deepEqual(numbers, numbers.map((_, i) => i));
      await store.close();
    });
  }
});
