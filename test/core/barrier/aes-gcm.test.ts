import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  AesGcmBarrier,
  KEYRING_PATH,
  LOGICAL_PREFIX,
  type BarrierOptions,
} from '../../../src/core/barrier/aes-gcm.js';
import {
  HEADER_SIZE,
  MIN_ENTRY_SIZE,
  NONCE_SIZE,
  TAG_SIZE,
} from '../../../src/core/barrier/entry.js';
import { BadRequestError, InternalError, SealedError } from '../../../src/errors.js';
import { InmemPhysical } from '../../../src/storage/inmem.js';

// Tests that tamper with stored entries must read from physical storage, not the read cache.
const UNCACHED: BarrierOptions = {
  readCache: { maxEntries: 0, maxBytes: 0, maxValueBytes: 0 },
};

async function unsealedBarrier(options?: BarrierOptions): Promise<{
  physical: InmemPhysical;
  barrier: AesGcmBarrier;
  rootKey: Buffer;
}> {
  const physical = new InmemPhysical();
  const barrier = new AesGcmBarrier(physical, options);
  const rootKey = randomBytes(32);
  await barrier.initialize(rootKey);
  await barrier.unseal(rootKey);
  return { physical, barrier, rootKey };
}

function termOf(entry: Buffer): number {
  return entry.readUInt32BE(1);
}

/** Asserts that reading `key` fails with an InternalError naming its physical path. */
async function assertDecryptFails(barrier: AesGcmBarrier, key: string, plaintext: string) {
  await assert.rejects(barrier.get(key), (err: Error) => {
    assert.ok(err instanceof InternalError, `expected InternalError, got ${err.name}`);
    assert.match(err.message, new RegExp(`^decrypting "${LOGICAL_PREFIX}${key}": `));
    assert.ok(!err.message.includes(plaintext), 'error message contains the plaintext');
    return true;
  });
}

describe('AesGcmBarrier', () => {
  it('round-trips put, get and delete', async () => {
    const { barrier } = await unsealedBarrier();
    await barrier.put('abc/foo', Buffer.from('hello'));
    assert.equal((await barrier.get('abc/foo'))?.toString(), 'hello');

    await barrier.put('abc/foo', Buffer.from('second'));
    assert.equal((await barrier.get('abc/foo'))?.toString(), 'second');

    await barrier.put('empty', Buffer.alloc(0));
    assert.equal((await barrier.get('empty'))?.length, 0);

    await barrier.delete('abc/foo');
    assert.equal(await barrier.get('abc/foo'), null);
    assert.equal(await barrier.get('never-written'), null);
  });

  it('stores ciphertext under the logical prefix', async () => {
    const { physical, barrier } = await unsealedBarrier();
    const plaintext = Buffer.from('a very recognizable secret value');
    await barrier.put('abc/foo', plaintext);

    assert.equal(await physical.get('abc/foo'), null);
    const stored = await physical.get('logical/abc/foo');
    assert.ok(stored !== null);
    assert.equal(stored.length, MIN_ENTRY_SIZE + plaintext.length);
    assert.equal(stored[0], 1);
    assert.equal(termOf(stored), 1);
    assert.equal(stored.indexOf(plaintext), -1);
  });

  it('uses a fresh nonce for each write', async () => {
    const { physical, barrier } = await unsealedBarrier();
    await barrier.put('a', Buffer.from('same'));
    const first = (await physical.get('logical/a')) as Buffer;
    await barrier.put('a', Buffer.from('same'));
    const second = (await physical.get('logical/a')) as Buffer;
    const nonceOf = (entry: Buffer) => entry.subarray(HEADER_SIZE, HEADER_SIZE + NONCE_SIZE);
    assert.notDeepEqual(nonceOf(first), nonceOf(second));
  });

  it('keeps logical writes away from the keyring', async () => {
    const { physical, barrier, rootKey } = await unsealedBarrier();
    const keyringBefore = await physical.get(KEYRING_PATH);
    await barrier.put('core/keyring', Buffer.from('overwrite attempt'));

    assert.deepEqual(await physical.get(KEYRING_PATH), keyringBefore);
    assert.equal((await barrier.get('core/keyring'))?.toString(), 'overwrite attempt');

    const restarted = new AesGcmBarrier(physical);
    await restarted.unseal(rootKey);
    assert.equal((await restarted.get('core/keyring'))?.toString(), 'overwrite attempt');
  });

  it('lists names relative to the logical prefix', async () => {
    const { barrier } = await unsealedBarrier();
    for (const key of ['a/x', 'a/y/z', 'b', 'c/d']) await barrier.put(key, Buffer.from(key));

    assert.deepEqual(await barrier.list(''), ['a/', 'b', 'c/']);
    assert.deepEqual(await barrier.list('a/'), ['x', 'y/']);
    assert.deepEqual(await barrier.list('a/', { after: 'x' }), ['y/']);
    assert.deepEqual(await barrier.list('', { limit: 2 }), ['a/', 'b']);
    assert.deepEqual(await barrier.list('missing/'), []);
  });

  it('encrypts each put of a transaction', async () => {
    const { physical, barrier } = await unsealedBarrier();
    await barrier.put('gone', Buffer.from('x'));
    await barrier.transaction([
      { op: 'put', key: 'one', value: Buffer.from('1') },
      { op: 'put', key: 'two', value: Buffer.from('2') },
      { op: 'delete', key: 'gone' },
    ]);

    assert.equal((await barrier.get('one'))?.toString(), '1');
    assert.equal((await barrier.get('two'))?.toString(), '2');
    assert.equal(await barrier.get('gone'), null);
    const stored = (await physical.get('logical/one')) as Buffer;
    assert.equal(stored.length, MIN_ENTRY_SIZE + 1);
  });

  it('rejects a transaction with an invalid operation', async () => {
    const { barrier } = await unsealedBarrier();
    await assert.rejects(
      barrier.transaction([
        { op: 'put', key: 'ok', value: Buffer.from('1') },
        { op: 'put', key: 'bad', value: 'not a buffer' as unknown as Buffer },
      ]),
      TypeError,
    );
    assert.equal(await barrier.get('ok'), null);
  });

  it('rejects invalid keys and values', async () => {
    const { barrier } = await unsealedBarrier();
    await assert.rejects(barrier.get(''), BadRequestError);
    await assert.rejects(barrier.put('', Buffer.from('x')), BadRequestError);
    await assert.rejects(barrier.put('k', 'text' as unknown as Buffer), TypeError);
  });

  describe('tampered entries', () => {
    const plaintext = 'tamper target plaintext';
    const regions: Array<[string, (entry: Buffer) => number]> = [
      ['version byte', () => 0],
      ['term', () => 4],
      ['nonce', () => HEADER_SIZE + 3],
      ['ciphertext', () => HEADER_SIZE + NONCE_SIZE + 2],
      ['tag', (entry) => entry.length - TAG_SIZE + 5],
      ['last tag byte', (entry) => entry.length - 1],
    ];

    for (const [region, offsetOf] of regions) {
      it(`rejects a flipped bit in the ${region}`, async () => {
        const { physical, barrier } = await unsealedBarrier(UNCACHED);
        await barrier.put('abc/foo', Buffer.from(plaintext));
        const entry = (await physical.get('logical/abc/foo')) as Buffer;
        entry[offsetOf(entry)] ^= 0x01;
        await physical.put('logical/abc/foo', entry);

        await assertDecryptFails(barrier, 'abc/foo', plaintext);
      });
    }

    it('rejects a term changed to another known term', async () => {
      const { physical, barrier } = await unsealedBarrier(UNCACHED);
      await barrier.put('abc/foo', Buffer.from(plaintext));
      await barrier.rotate();
      const entry = (await physical.get('logical/abc/foo')) as Buffer;
      entry.writeUInt32BE(2, 1);
      await physical.put('logical/abc/foo', entry);

      await assert.rejects(barrier.get('abc/foo'), {
        name: 'InternalError',
        message: 'decrypting "logical/abc/foo": authentication failed',
      });
    });

    it('names an unknown term', async () => {
      const { physical, barrier } = await unsealedBarrier(UNCACHED);
      await barrier.put('abc/foo', Buffer.from(plaintext));
      const entry = (await physical.get('logical/abc/foo')) as Buffer;
      entry.writeUInt32BE(7, 1);
      await physical.put('logical/abc/foo', entry);

      await assert.rejects(barrier.get('abc/foo'), {
        name: 'InternalError',
        message: 'decrypting "logical/abc/foo": unknown key term 7',
      });
    });

    it('rejects truncated entries', async () => {
      const { physical, barrier } = await unsealedBarrier(UNCACHED);
      await barrier.put('abc/foo', Buffer.from(plaintext));
      const entry = (await physical.get('logical/abc/foo')) as Buffer;

      const lengths = [0, 1, HEADER_SIZE, MIN_ENTRY_SIZE - 1, MIN_ENTRY_SIZE, entry.length - 1];
      for (const length of lengths) {
        await physical.put('logical/abc/foo', entry.subarray(0, length));
        await assertDecryptFails(barrier, 'abc/foo', plaintext);
      }
    });

    it('rejects an entry with bytes appended', async () => {
      const { physical, barrier } = await unsealedBarrier(UNCACHED);
      await barrier.put('abc/foo', Buffer.from(plaintext));
      const entry = (await physical.get('logical/abc/foo')) as Buffer;
      await physical.put('logical/abc/foo', Buffer.concat([entry, Buffer.from([0])]));

      await assertDecryptFails(barrier, 'abc/foo', plaintext);
    });

    it('rejects an entry moved to another path', async () => {
      const { physical, barrier } = await unsealedBarrier(UNCACHED);
      await barrier.put('abc/foo', Buffer.from(plaintext));
      const entry = (await physical.get('logical/abc/foo')) as Buffer;
      await physical.put('logical/abc/bar', entry);

      await assert.rejects(barrier.get('abc/bar'), {
        name: 'InternalError',
        message: 'decrypting "logical/abc/bar": authentication failed',
      });
      assert.equal((await barrier.get('abc/foo'))?.toString(), plaintext);
    });
  });

  describe('rotation', () => {
    it('reads entries of old and new terms', async () => {
      const { physical, barrier } = await unsealedBarrier();
      await barrier.put('old', Buffer.from('written under term 1'));

      const status = await barrier.rotate();
      assert.equal(status.term, 2);
      assert.equal(status.encryptions, 0);
      await barrier.put('new', Buffer.from('written under term 2'));

      assert.equal(termOf((await physical.get('logical/old')) as Buffer), 1);
      assert.equal(termOf((await physical.get('logical/new')) as Buffer), 2);
      assert.equal((await barrier.get('old'))?.toString(), 'written under term 1');
      assert.equal((await barrier.get('new'))?.toString(), 'written under term 2');
    });

    it('persists every term for a new instance', async () => {
      const { physical, barrier, rootKey } = await unsealedBarrier();
      await barrier.put('t1', Buffer.from('one'));
      await barrier.rotate();
      await barrier.put('t2', Buffer.from('two'));
      await barrier.rotate();
      await barrier.put('t3', Buffer.from('three'));

      const restarted = new AesGcmBarrier(physical);
      assert.equal(restarted.sealed, true);
      await restarted.unseal(rootKey);
      assert.equal(restarted.keyStatus().term, 3);
      assert.equal((await restarted.get('t1'))?.toString(), 'one');
      assert.equal((await restarted.get('t2'))?.toString(), 'two');
      assert.equal((await restarted.get('t3'))?.toString(), 'three');

      await restarted.put('t3b', Buffer.from('after restart'));
      assert.equal(termOf((await physical.get('logical/t3b')) as Buffer), 3);
    });

    it('gives concurrent rotations distinct terms', async () => {
      const { barrier } = await unsealedBarrier();
      const results = await Promise.all([barrier.rotate(), barrier.rotate(), barrier.rotate()]);
      assert.deepEqual(
        results.map((status) => status.term),
        [2, 3, 4],
      );
      assert.equal(barrier.keyStatus().term, 4);
    });

    it('records the install time of the new term', async () => {
      const { barrier } = await unsealedBarrier();
      const first = barrier.keyStatus().installTime;
      const rotated = await barrier.rotate();
      assert.ok(rotated.installTime.getTime() >= first.getTime());
    });
  });

  it('counts encryptions of the active term', async () => {
    const { barrier } = await unsealedBarrier();
    assert.equal(barrier.keyStatus().encryptions, 0);
    await barrier.put('a', Buffer.from('1'));
    await barrier.put('b', Buffer.from('2'));
    await barrier.transaction([
      { op: 'put', key: 'c', value: Buffer.from('3') },
      { op: 'delete', key: 'a' },
    ]);
    await barrier.get('b');
    assert.equal(barrier.keyStatus().encryptions, 3);
  });

  describe('seal state', () => {
    it('throws SealedError from every storage call while sealed', async () => {
      const { barrier } = await unsealedBarrier();
      await barrier.put('a', Buffer.from('1'));
      barrier.seal();
      assert.equal(barrier.sealed, true);

      await assert.rejects(barrier.get('a'), SealedError);
      await assert.rejects(barrier.put('a', Buffer.from('2')), SealedError);
      await assert.rejects(barrier.delete('a'), SealedError);
      await assert.rejects(barrier.list(''), SealedError);
      await assert.rejects(barrier.transaction([{ op: 'delete', key: 'a' }]), SealedError);
      await assert.rejects(barrier.rotate(), SealedError);
      assert.throws(() => barrier.keyStatus(), SealedError);
    });

    it('starts sealed before initialization', async () => {
      const barrier = new AesGcmBarrier(new InmemPhysical());
      assert.equal(barrier.sealed, true);
      assert.equal(await barrier.initialized(), false);
      await assert.rejects(barrier.get('a'), SealedError);
      await assert.rejects(barrier.unseal(randomBytes(32)), BadRequestError);
    });

    it('stays sealed after initialize', async () => {
      const barrier = new AesGcmBarrier(new InmemPhysical());
      await barrier.initialize(randomBytes(32));
      assert.equal(await barrier.initialized(), true);
      assert.equal(barrier.sealed, true);
    });

    it('rejects a second initialize', async () => {
      const { physical, barrier, rootKey } = await unsealedBarrier();
      const keyringBefore = await physical.get(KEYRING_PATH);
      await assert.rejects(barrier.initialize(randomBytes(32)), BadRequestError);
      assert.deepEqual(await physical.get(KEYRING_PATH), keyringBefore);

      barrier.seal();
      await barrier.unseal(rootKey);
      assert.equal(barrier.sealed, false);
    });

    it('stays sealed with a wrong root key', async () => {
      const { physical, barrier, rootKey } = await unsealedBarrier();
      await barrier.put('a', Buffer.from('1'));
      barrier.seal();

      const wrongKey = randomBytes(32);
      await assert.rejects(barrier.unseal(wrongKey), (err: Error) => {
        assert.ok(err instanceof InternalError);
        assert.match(err.message, /root key does not decrypt the keyring at "core\/keyring"/);
        assert.ok(!err.message.includes(wrongKey.toString('hex')));
        return true;
      });
      assert.equal(barrier.sealed, true);
      await assert.rejects(barrier.get('a'), SealedError);

      const restarted = new AesGcmBarrier(physical);
      await assert.rejects(restarted.unseal(wrongKey), InternalError);
      assert.equal(restarted.sealed, true);

      await barrier.unseal(rootKey);
      assert.equal((await barrier.get('a'))?.toString(), '1');
    });

    it('rejects a tampered keyring', async () => {
      const { physical, barrier, rootKey } = await unsealedBarrier();
      barrier.seal();
      const keyring = (await physical.get(KEYRING_PATH)) as Buffer;
      keyring[keyring.length - 20] ^= 0x80;
      await physical.put(KEYRING_PATH, keyring);

      await assert.rejects(barrier.unseal(rootKey), InternalError);
      assert.equal(barrier.sealed, true);
    });

    it('rejects root keys of the wrong size', async () => {
      const barrier = new AesGcmBarrier(new InmemPhysical());
      await assert.rejects(barrier.initialize(randomBytes(16)), TypeError);
      await assert.rejects(barrier.unseal(randomBytes(33)), TypeError);
      assert.equal(await barrier.initialized(), false);
    });

    it('unseals again after a seal', async () => {
      const { barrier, rootKey } = await unsealedBarrier();
      await barrier.put('a', Buffer.from('kept'));
      barrier.seal();
      await barrier.unseal(rootKey);
      assert.equal((await barrier.get('a'))?.toString(), 'kept');
      assert.equal(barrier.keyStatus().term, 1);
    });

    it('keeps its own copy of the root key', async () => {
      const barrier = new AesGcmBarrier(new InmemPhysical());
      const rootKey = randomBytes(32);
      const copy = Buffer.from(rootKey);
      await barrier.initialize(rootKey);
      await barrier.unseal(rootKey);
      rootKey.fill(0);

      // Rotation re-encrypts the keyring with the barrier's copy of the root key.
      await barrier.rotate();
      barrier.seal();
      await barrier.unseal(copy);
      assert.equal(barrier.keyStatus().term, 2);
    });
  });
});
