import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { AesGcmBarrier, type BarrierOptions } from '../../../src/core/barrier/aes-gcm.js';
import { PlaintextCache } from '../../../src/core/barrier/read-cache.js';
import { InmemPhysical } from '../../../src/storage/inmem.js';

/** In-memory storage whose reads can be held after they have read, to order them against writes. */
class HeldReadPhysical extends InmemPhysical {
  pendingRelease: Promise<void> | null = null;
  reads = 0;

  override async get(key: string): Promise<Buffer | null> {
    const value = await super.get(key);
    this.reads++;
    if (this.pendingRelease !== null) await this.pendingRelease;
    return value;
  }
}

async function unsealedBarrier(physical = new InmemPhysical(), options?: BarrierOptions) {
  const barrier = new AesGcmBarrier(physical, options);
  const rootKey = randomBytes(32);
  await barrier.initialize(rootKey);
  await barrier.unseal(rootKey);
  return { physical, barrier, rootKey };
}

/** Replaces the stored entry at `key` with the entry stored at `source`, so decryption fails. */
async function corruptEntry(physical: InmemPhysical, key: string, source: string): Promise<void> {
  const entry = (await physical.get(`logical/${source}`)) as Buffer;
  await physical.put(`logical/${key}`, entry);
}

describe('PlaintextCache', () => {
  it('evicts the least recently used entry', () => {
    const cache = new PlaintextCache({ maxEntries: 2, maxBytes: 1024, maxValueBytes: 1024 });
    cache.set('a', Buffer.from('1'));
    cache.set('b', Buffer.from('2'));
    cache.get('a');
    cache.set('c', Buffer.from('3'));
    assert.equal(cache.size, 2);
    assert.equal(cache.get('b'), undefined);
    assert.deepEqual(cache.get('a'), Buffer.from('1'));
    assert.deepEqual(cache.get('c'), Buffer.from('3'));
  });

  it('stays within the byte limit', () => {
    const cache = new PlaintextCache({ maxEntries: 100, maxBytes: 10, maxValueBytes: 10 });
    cache.set('a', Buffer.alloc(4));
    cache.set('b', Buffer.alloc(4));
    cache.set('c', Buffer.alloc(4));
    assert.equal(cache.size, 2);
    assert.equal(cache.get('a'), undefined);

    cache.set('b', Buffer.alloc(1));
    cache.set('d', Buffer.alloc(5));
    assert.equal(cache.size, 3, 'a replaced entry gives its bytes back');
  });

  it('skips values over the value limit', () => {
    const cache = new PlaintextCache({ maxEntries: 100, maxBytes: 1024, maxValueBytes: 8 });
    cache.set('small', Buffer.alloc(8));
    cache.set('large', Buffer.alloc(9));
    assert.deepEqual(cache.get('small'), Buffer.alloc(8));
    assert.equal(cache.get('large'), undefined);
  });

  it('zero entries disables it', () => {
    const cache = new PlaintextCache({ maxEntries: 0, maxBytes: 1024, maxValueBytes: 1024 });
    cache.set('a', Buffer.from('1'));
    assert.equal(cache.size, 0);
    assert.equal(cache.get('a'), undefined);
  });

  it('copies values in and out', () => {
    const cache = new PlaintextCache();
    const value = Buffer.from('secret');
    cache.set('a', value);
    value.fill(0);
    const read = cache.get('a') as Buffer;
    assert.deepEqual(read, Buffer.from('secret'));
    read.fill(0);
    assert.deepEqual(cache.get('a'), Buffer.from('secret'));
  });

  it('rejects invalid limits', () => {
    assert.throws(() => new PlaintextCache({ maxEntries: -1, maxBytes: 1, maxValueBytes: 1 }), /maxEntries/);
    assert.throws(() => new PlaintextCache({ maxEntries: 1, maxBytes: 1.5, maxValueBytes: 1 }), /maxBytes/);
    assert.throws(() => new PlaintextCache({ maxEntries: 1, maxBytes: 1, maxValueBytes: NaN }), /maxValueBytes/);
  });
});

describe('barrier read cache', () => {
  it('serves repeated reads from memory', async () => {
    const physical = new HeldReadPhysical();
    const { barrier } = await unsealedBarrier(physical);
    await barrier.put('a', Buffer.from('one'));
    const reads = physical.reads;
    assert.deepEqual(await barrier.get('a'), Buffer.from('one'));
    assert.deepEqual(await barrier.get('a'), Buffer.from('one'));
    assert.equal(physical.reads, reads, 'a put fills the cache, so no read reaches storage');
  });

  it('reads see put, delete and transaction', async () => {
    const { barrier } = await unsealedBarrier();
    await barrier.put('a', Buffer.from('one'));
    await barrier.put('b', Buffer.from('two'));
    assert.deepEqual(await barrier.get('a'), Buffer.from('one'));
    assert.deepEqual(await barrier.get('b'), Buffer.from('two'));

    await barrier.put('a', Buffer.from('one again'));
    assert.deepEqual(await barrier.get('a'), Buffer.from('one again'));

    await barrier.delete('a');
    assert.equal(await barrier.get('a'), null);

    await barrier.transaction([
      { op: 'put', key: 'a', value: Buffer.from('from tx') },
      { op: 'delete', key: 'b' },
      { op: 'put', key: 'c', value: Buffer.from('first') },
      { op: 'put', key: 'c', value: Buffer.from('second') },
    ]);
    assert.deepEqual(await barrier.get('a'), Buffer.from('from tx'));
    assert.equal(await barrier.get('b'), null);
    assert.deepEqual(await barrier.get('c'), Buffer.from('second'));
  });

  it('callers cannot change cached values', async () => {
    const { barrier } = await unsealedBarrier();
    const written = Buffer.from('secret');
    await barrier.put('a', written);
    written.fill(0);
    const read = (await barrier.get('a')) as Buffer;
    assert.deepEqual(read, Buffer.from('secret'));
    read.fill(0);
    assert.deepEqual(await barrier.get('a'), Buffer.from('secret'));
  });

  it('seal clears it', async () => {
    const { physical, barrier, rootKey } = await unsealedBarrier();
    await barrier.put('a', Buffer.from('one'));
    await barrier.put('b', Buffer.from('two'));
    assert.deepEqual(await barrier.get('a'), Buffer.from('one'));

    // A cached value would hide the corrupted entry; after a seal the read must decrypt it.
    await corruptEntry(physical, 'a', 'b');
    assert.deepEqual(await barrier.get('a'), Buffer.from('one'));
    barrier.seal();
    await barrier.unseal(rootKey);
    await assert.rejects(barrier.get('a'), /authentication failed/);
  });

  it('read that overlaps a write is not cached', async () => {
    const physical = new HeldReadPhysical();
    const first = await unsealedBarrier(physical);
    await first.barrier.put('a', Buffer.from('old'));
    // A second barrier over the same storage starts with an empty cache.
    const barrier = new AesGcmBarrier(physical);
    await barrier.unseal(first.rootKey);

    let release = (): void => {};
    physical.pendingRelease = new Promise<void>((resolve) => {
      release = resolve;
    });
    const staleRead = barrier.get('a');
    await barrier.put('a', Buffer.from('new'));
    physical.pendingRelease = null;
    release();

    assert.deepEqual(await staleRead, Buffer.from('old'), 'the read returns what it read');
    assert.deepEqual(await barrier.get('a'), Buffer.from('new'), 'but does not replace the newer value');
  });

  it('failed write drops the key', async () => {
    const physical = new InmemPhysical();
    const { barrier } = await unsealedBarrier(physical);
    await barrier.put('a', Buffer.from('one'));
    await physical.close();
    await assert.rejects(barrier.put('a', Buffer.from('two')), /closed/);

    // The read reaches the closed storage, so the cache no longer returns the key.
    await assert.rejects(barrier.get('a'), /closed/);
  });

  it('disabled cache reads storage each time', async () => {
    const physical = new HeldReadPhysical();
    const { barrier } = await unsealedBarrier(physical, {
      readCache: { maxEntries: 0, maxBytes: 0, maxValueBytes: 0 },
    });
    await barrier.put('a', Buffer.from('one'));
    const reads = physical.reads;
    await barrier.get('a');
    await barrier.get('a');
    assert.equal(physical.reads, reads + 2);
  });
});
