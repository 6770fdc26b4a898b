import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommitQueue } from '../../../src/core/expiration/commit-queue.js';
import { BadRequestError } from '../../../src/errors.js';
import { InmemPhysical } from '../../../src/storage/inmem.js';
import type { ListOptions, TxOp } from '../../../src/storage/physical.js';
import type { Storage } from '../../../src/storage/storage.js';

/** An in-memory store that records the size of every transaction applied to it. */
class RecordingStore implements Storage {
  readonly inner = new InmemPhysical();
  /** Operations per transaction call, in call order, failed calls included. */
  readonly transactions: number[] = [];

  get(key: string) {
    return this.inner.get(key);
  }
  put(key: string, value: Buffer) {
    return this.inner.put(key, value);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  list(prefix: string, options?: ListOptions) {
    return this.inner.list(prefix, options);
  }
  transaction(ops: TxOp[]) {
    this.transactions.push(ops.length);
    return this.inner.transaction(ops);
  }
}

function put(key: string, value: string): TxOp {
  return { op: 'put', key, value: Buffer.from(value) };
}

async function read(store: Storage, key: string): Promise<string | null> {
  const value = await store.get(key);
  return value === null ? null : value.toString();
}

describe('CommitQueue', () => {
  it('applies concurrent commits together', async () => {
    const store = new RecordingStore();
    const queue = new CommitQueue(store, 1000);
    await Promise.all(Array.from({ length: 10 }, (_, i) => queue.commit([put(`a/${i}`, `v${i}`), put(`b/${i}`, `w${i}`)])));

    assert.deepEqual(store.transactions, [20]);
    assert.equal(await read(store, 'a/0'), 'v0');
    assert.equal(await read(store, 'b/9'), 'w9');
  });

  it('splits a batch at maxOps', async () => {
    const store = new RecordingStore();
    const queue = new CommitQueue(store, 4);
    await Promise.all(Array.from({ length: 5 }, (_, i) => queue.commit([put(`a/${i}`, 'x'), put(`b/${i}`, 'y')])));

    assert.deepEqual(store.transactions, [4, 4, 2]);
    assert.deepEqual(await store.list('a/'), ['0', '1', '2', '3', '4']);
  });

  it('runs a larger transaction whole', async () => {
    const store = new RecordingStore();
    const queue = new CommitQueue(store, 2);
    await Promise.all([queue.commit([put('a', '1'), put('b', '2'), put('c', '3')]), queue.commit([put('d', '4')])]);

    assert.deepEqual(store.transactions, [3, 1]);
    assert.equal(await read(store, 'c'), '3');
    assert.equal(await read(store, 'd'), '4');
  });

  it('applies commits in queue order', async () => {
    const store = new RecordingStore();
    const queue = new CommitQueue(store, 1000);
    await Promise.all([queue.commit([put('key', 'first')]), queue.commit([put('key', 'second')]), queue.commit([{ op: 'delete', key: 'gone' }])]);

    assert.equal(await read(store, 'key'), 'second');
  });

  it('fails only the bad commit', async () => {
    const store = new RecordingStore();
    const queue = new CommitQueue(store, 1000);
    const results = await Promise.allSettled([
      queue.commit([put('good/1', 'a')]),
      queue.commit([put('bad/1', 'b'), { op: 'delete', key: '' }]),
      queue.commit([put('good/2', 'c')]),
    ]);

    assert.equal(results[0].status, 'fulfilled');
    assert.equal(results[2].status, 'fulfilled');
    assert.equal(results[1].status, 'rejected');
    assert.ok((results[1] as PromiseRejectedResult).reason instanceof BadRequestError);
    assert.deepEqual(await store.list('good/'), ['1', '2']);
    assert.equal(await read(store, 'bad/1'), null, 'the bad commit was applied in part');
    // One combined attempt, then each commit alone.
    assert.deepEqual(store.transactions, [4, 1, 2, 1]);
  });

  it('does not resolve before the commit is applied', async () => {
    const store = new RecordingStore();
    const queue = new CommitQueue(store, 1000);
    const pending = queue.commit([put('late', 'v')]);

    assert.equal(await read(store, 'late'), null);
    await pending;
    assert.equal(await read(store, 'late'), 'v');
  });

  it('keeps working after a failure', async () => {
    const store = new RecordingStore();
    const queue = new CommitQueue(store, 1000);
    await assert.rejects(queue.commit([{ op: 'delete', key: '' }]), BadRequestError);
    await queue.commit([put('after', 'v')]);

    assert.equal(await read(store, 'after'), 'v');
  });
});
