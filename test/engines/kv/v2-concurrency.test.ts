import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CheckAndSetError } from '../../../src/errors.js';
import type { ListOptions, TxOp } from '../../../src/storage/physical.js';
import { InmemPhysical } from '../../../src/storage/inmem.js';
import { StorageView, type Storage } from '../../../src/storage/storage.js';
import { mountKv, snapshot } from './harness.js';

test('concurrent cas 0 writes: one wins', async () => {
  const kv = await mountKv({ version: '2' });
  const attempts = Array.from({ length: 10 }, (_, i) =>
    kv.request('update', 'data/app', { data: { data: { writer: i }, options: { cas: 0 } } }),
  );
  const results = await Promise.allSettled(attempts);

  const fulfilled = results.filter((r) => r.status === 'fulfilled');
  const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  assert.equal(fulfilled.length, 1);
  assert.equal(rejected.length, 9);
  for (const failure of rejected) assert.ok(failure.reason instanceof CheckAndSetError);
});

test('concurrent writes get distinct versions', async () => {
  const kv = await mountKv({ version: '2' });
  const writes = await Promise.all(
    Array.from({ length: 8 }, (_, i) => kv.request('update', 'data/app', { data: { data: { writer: i } } })),
  );
  const versions = writes.map((w) => w?.data?.version).sort();
  assert.deepEqual(versions, [1, 2, 3, 4, 5, 6, 7, 8]);

  const meta = await kv.request('read', 'metadata/app');
  assert.equal((meta?.data as { current_version: number }).current_version, 8);
});

/** Storage whose transactions fail while `failing` is set; other calls pass through. */
class FlakyStorage implements Storage {
  failing = false;
  transactions = 0;
  singleWrites = 0;

  constructor(private readonly inner: Storage) {}

  get(key: string) {
    return this.inner.get(key);
  }
  put(key: string, value: Buffer) {
    this.singleWrites++;
    return this.inner.put(key, value);
  }
  delete(key: string) {
    this.singleWrites++;
    return this.inner.delete(key);
  }
  list(prefix: string, options?: ListOptions) {
    return this.inner.list(prefix, options);
  }
  async transaction(ops: TxOp[]) {
    this.transactions++;
    if (this.failing) throw new Error('simulated storage failure');
    return this.inner.transaction(ops);
  }
}

test('storage failure leaves the key unchanged', async () => {
  const storage = new FlakyStorage(new StorageView(new InmemPhysical(), 'kv/'));
  const kv = await mountKv({ version: '2' }, storage);
  await kv.request('update', 'data/app', { data: { data: { v: 1 } } });
  await kv.request('update', 'metadata/app', { data: { max_versions: 1 } });
  const before = await snapshot(storage);
  const transactionsBefore = storage.transactions;

  storage.failing = true;
  await assert.rejects(kv.request('update', 'data/app', { data: { data: { v: 2 } } }), /simulated/);
  await assert.rejects(kv.request('patch', 'data/app', { data: { data: { v: 2 } } }), /simulated/);
  await assert.rejects(kv.request('update', 'destroy/app', { data: { versions: [1] } }), /simulated/);
  await assert.rejects(kv.request('delete', 'metadata/app'), /simulated/);

  assert.equal(storage.transactions - transactionsBefore, 4);
  assert.equal(storage.singleWrites, 0);
  assert.deepEqual(await snapshot(storage), before);

  // The key lock is released after a failure, so later requests proceed.
  storage.failing = false;
  assert.equal((await kv.request('update', 'data/app', { data: { data: { v: 2 } } }))?.data?.version, 2);
});
