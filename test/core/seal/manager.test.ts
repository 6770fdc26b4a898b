import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { combine } from 'shamir-secret-sharing';
import { AesGcmBarrier, KEYRING_PATH } from '../../../src/core/barrier/aes-gcm.js';
import { decryptEntry } from '../../../src/core/barrier/entry.js';
import { Keyring } from '../../../src/core/barrier/keyring.js';
import { ROOT_KEY_PATH, SEAL_CONFIG_PATH, SealManager } from '../../../src/core/seal/manager.js';
import { BadRequestError } from '../../../src/errors.js';
import { InmemPhysical } from '../../../src/storage/inmem.js';

function newServer(): { physical: InmemPhysical; barrier: AesGcmBarrier; seal: SealManager } {
  const physical = new InmemPhysical();
  const barrier = new AesGcmBarrier(physical);
  return { physical, barrier, seal: new SealManager(physical, barrier) };
}

/** Initializes a server with the given shares and threshold and leaves it sealed. */
async function sealedServer(secretShares: number, secretThreshold: number) {
  const server = newServer();
  const init = await server.seal.initialize({ secretShares, secretThreshold });
  await server.seal.seal();
  return { ...server, init };
}

/** Returns every k-element subset of `items`. */
function subsets<T>(items: T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [first, ...rest] = items;
  return [...subsets(rest, k - 1).map((s) => [first, ...s]), ...subsets(rest, k)];
}

/** Returns every value stored in physical storage, walking the listing recursively. */
async function allValues(physical: InmemPhysical, prefix = ''): Promise<Buffer[]> {
  const values: Buffer[] = [];
  for (const child of await physical.list(prefix)) {
    if (child.endsWith('/')) {
      values.push(...(await allValues(physical, prefix + child)));
    } else {
      values.push((await physical.get(prefix + child)) as Buffer);
    }
  }
  return values;
}

function isBadRequest(message: RegExp) {
  return (err: Error) => {
    assert.ok(err instanceof BadRequestError, `expected BadRequestError, got ${err.name}`);
    assert.equal(err.status, 400);
    assert.match(err.message, message);
    return true;
  };
}

describe('SealManager', () => {
  it('reports an uninitialized server', async () => {
    const { seal } = newServer();
    assert.equal(await seal.isInitialized(), false);
    assert.deepEqual(await seal.status(), {
      type: 'shamir',
      initialized: false,
      sealed: true,
      threshold: 0,
      shares: 0,
      progress: 0,
      nonce: '',
    });
  });

  it('initializes 5 shares with threshold 3', async () => {
    const { physical, barrier, seal } = newServer();
    const init = await seal.initialize({ secretShares: 5, secretThreshold: 3 });

    assert.equal(init.rootKeyReady, true);
    assert.equal(init.keys.length, 5);
    assert.equal(init.keysBase64.length, 5);
    for (const [i, hex] of init.keys.entries()) {
      assert.match(hex, /^[0-9a-f]{66}$/);
      assert.equal(Buffer.from(init.keysBase64[i], 'base64').toString('hex'), hex);
    }
    assert.equal(new Set(init.keys).size, 5);

    assert.equal(await seal.isInitialized(), true);
    assert.equal(barrier.sealed, false);
    assert.deepEqual(JSON.parse(((await physical.get(SEAL_CONFIG_PATH)) as Buffer).toString()), {
      type: 'shamir',
      secretShares: 5,
      secretThreshold: 3,
    });

    await seal.seal();
    const status = await seal.status();
    assert.equal(status.initialized, true);
    assert.equal(status.sealed, true);
    assert.equal(status.threshold, 3);
    assert.equal(status.shares, 5);
    assert.equal(status.progress, 0);
  });

  it('unseals with every subset of 3 of 5 shares', async () => {
    const { barrier, seal, init } = await sealedServer(5, 3);
    const indexes = [0, 1, 2, 3, 4];
    const chosen = subsets(indexes, 3);
    assert.equal(chosen.length, 10);

    for (const subset of chosen) {
      assert.equal(barrier.sealed, true);
      for (const [n, i] of subset.entries()) {
        // Alternate encodings to cover both forms in one unseal.
        const share = n % 2 === 0 ? init.keys[i] : init.keysBase64[i];
        const progress = await seal.submitShare(share);
        if (n < 2) {
          assert.equal(progress.sealed, true, `subset ${subset} after ${n + 1} shares`);
          assert.equal(progress.progress, n + 1);
        } else {
          assert.equal(progress.sealed, false, `subset ${subset} did not unseal`);
          assert.equal(progress.progress, 0);
          assert.equal(progress.nonce, '');
        }
      }
      assert.equal(barrier.sealed, false);
      await seal.seal();
    }
  });

  it('accepts upper-case hex shares', async () => {
    const { seal, init } = await sealedServer(3, 2);
    await seal.submitShare(init.keys[0].toUpperCase());
    const progress = await seal.submitShare(init.keys[2].toUpperCase());
    assert.equal(progress.sealed, false);
  });

  it('stays sealed with 2 of 3 required shares', async () => {
    const { barrier, seal, init } = await sealedServer(5, 3);
    const first = await seal.submitShare(init.keys[0]);
    assert.equal(first.progress, 1);
    assert.match(first.nonce, /^[0-9a-f-]{36}$/);

    const second = await seal.submitShare(init.keys[1]);
    assert.equal(second.sealed, true);
    assert.equal(second.progress, 2);
    assert.equal(second.nonce, first.nonce);
    assert.equal(barrier.sealed, true);
    assert.deepEqual(await seal.status(), { ...second, initialized: true, type: 'shamir' });
  });

  it('ignores a duplicate share', async () => {
    const { seal, init } = await sealedServer(5, 3);
    await seal.submitShare(init.keys[0]);
    assert.equal((await seal.submitShare(init.keys[0])).progress, 1);
    // The same share in base64 is still the same share.
    assert.equal((await seal.submitShare(init.keysBase64[0])).progress, 1);

    await seal.submitShare(init.keys[1]);
    const progress = await seal.submitShare(init.keys[2]);
    assert.equal(progress.sealed, false);
  });

  it('rejects malformed shares without counting them', async () => {
    const { seal, init } = await sealedServer(5, 3);
    await seal.submitShare(init.keys[0]);
    const nonce = (await seal.status()).nonce;

    const zeroX = Buffer.from(init.keys[1], 'hex');
    zeroX[zeroX.length - 1] = 0;
    const malformed: Array<[string, RegExp]> = [
      ['', /hex or base64/],
      ['not a key', /hex or base64/],
      ['zz'.repeat(33), /hex or base64/],
      [init.keys[1].slice(0, 64), /32 bytes, expected 33/],
      [init.keys[1] + '00', /34 bytes, expected 33/],
      [Buffer.alloc(10, 7).toString('base64'), /10 bytes, expected 33/],
      [init.keysBase64[1].slice(1), /hex or base64/],
      [init.keysBase64[1].slice(4), /30 bytes, expected 33/],
      [zeroX.toString('hex'), /no valid x-coordinate/],
    ];
    for (const [share, message] of malformed) {
      await assert.rejects(seal.submitShare(share), (err: Error) => {
        isBadRequest(message)(err);
        if (share.length > 8) assert.ok(!err.message.includes(share), 'message echoes the share');
        return true;
      });
    }
    await assert.rejects(seal.submitShare(42 as unknown as string), BadRequestError);

    const status = await seal.status();
    assert.equal(status.progress, 1);
    assert.equal(status.nonce, nonce);
    assert.equal(status.sealed, true);
  });

  it('rejects shares from another initialization', async () => {
    const { barrier, seal, init } = await sealedServer(5, 3);
    const other = await sealedServer(5, 3);

    for (const key of other.init.keys.slice(0, 2)) await seal.submitShare(key);
    await assert.rejects(
      seal.submitShare(other.init.keys[2]),
      isBadRequest(/^unseal failed: the keys are not valid/),
    );
    assert.equal(barrier.sealed, true);
    const afterForeign = await seal.status();
    assert.equal(afterForeign.progress, 0);
    assert.equal(afterForeign.nonce, '');

    // Two own shares and one foreign share are not enough either.
    await seal.submitShare(init.keys[0]);
    await seal.submitShare(other.init.keys[1]);
    await assert.rejects(seal.submitShare(init.keys[2]), isBadRequest(/^unseal failed/));
    assert.equal(barrier.sealed, true);
    assert.equal((await seal.status()).progress, 0);

    // The correct shares still work after failed attempts.
    for (const key of init.keys.slice(2, 5)) await seal.submitShare(key);
    assert.equal(barrier.sealed, false);
  });

  it('rejects two shares with the same x-coordinate', async () => {
    const { barrier, seal, init } = await sealedServer(3, 2);
    const altered = Buffer.from(init.keys[0], 'hex');
    altered[0] ^= 0xff;
    await seal.submitShare(init.keys[0]);
    await assert.rejects(seal.submitShare(altered.toString('hex')), isBadRequest(/^unseal failed/));
    assert.equal(barrier.sealed, true);
    assert.equal((await seal.status()).progress, 0);
  });

  it('resets unseal progress', async () => {
    const { seal, init } = await sealedServer(5, 3);
    await seal.submitShare(init.keys[0]);
    const firstNonce = (await seal.submitShare(init.keys[1])).nonce;

    const reset = await seal.submitShare('', { reset: true });
    assert.equal(reset.progress, 0);
    assert.equal(reset.nonce, '');
    assert.equal(reset.sealed, true);
    assert.equal(reset.threshold, 3);

    // A share submitted before the reset counts again, under a new nonce.
    const next = await seal.submitShare(init.keys[0]);
    assert.equal(next.progress, 1);
    assert.notEqual(next.nonce, firstNonce);
  });

  it('lets reset take precedence over a key', async () => {
    const { seal, init } = await sealedServer(5, 3);
    await seal.submitShare(init.keys[0]);
    const progress = await seal.submitShare(init.keys[1], { reset: true });
    assert.equal(progress.progress, 0);
  });

  it('clears progress on seal', async () => {
    const { seal, init } = await sealedServer(5, 3);
    await seal.submitShare(init.keys[0]);
    await seal.seal();
    const status = await seal.status();
    assert.equal(status.progress, 0);
    assert.equal(status.nonce, '');
  });

  it('handles 1 share with threshold 1', async () => {
    const { physical, barrier, seal, init } = await sealedServer(1, 1);
    assert.equal(init.keys.length, 1);
    assert.match(init.keys[0], /^[0-9a-f]{64}$/);
    assert.equal(Buffer.from(init.keysBase64[0], 'base64').length, 32);

    const progress = await seal.submitShare(init.keysBase64[0]);
    assert.equal(progress.sealed, false);
    assert.equal(progress.threshold, 1);
    assert.equal(progress.shares, 1);

    // The single share is the unseal key: it decrypts the stored root key directly.
    const entry = (await physical.get(ROOT_KEY_PATH)) as Buffer;
    assert.equal(decryptEntry(Buffer.from(init.keys[0], 'hex'), ROOT_KEY_PATH, entry).length, 32);

    await seal.seal();
    await assert.rejects(
      seal.submitShare(init.keys[0].slice(2)),
      isBadRequest(/31 bytes, expected 32/),
    );
    assert.equal(barrier.sealed, true);
    await seal.submitShare(init.keys[0]);
    assert.equal(barrier.sealed, false);
  });

  it('rejects a second initialization', async () => {
    const { physical, seal } = await sealedServer(5, 3);
    const rootKeyBefore = await physical.get(ROOT_KEY_PATH);
    await assert.rejects(
      seal.initialize({ secretShares: 1, secretThreshold: 1 }),
      isBadRequest(/already initialized/),
    );
    assert.deepEqual(await physical.get(ROOT_KEY_PATH), rootKeyBefore);

    // A new manager over the same storage reads the stored state.
    const restarted = new SealManager(physical, new AesGcmBarrier(physical));
    await assert.rejects(
      restarted.initialize({ secretShares: 5, secretThreshold: 3 }),
      isBadRequest(/already initialized/),
    );
  });

  it('rejects invalid share counts and thresholds', async () => {
    const invalid: Array<[number, number, RegExp]> = [
      [0, 0, /secret_shares 0/],
      [0, 1, /secret_shares 0/],
      [256, 2, /secret_shares 256/],
      [2.5, 2, /secret_shares 2.5/],
      [3, 0, /secret_threshold 0/],
      [3, 4, /cannot be larger than secret_shares/],
      [1, 2, /cannot be larger than secret_shares/],
      [3, 1, /greater than 1 when secret_shares is greater than 1/],
      [Number.NaN, 1, /secret_shares NaN/],
    ];
    for (const [secretShares, secretThreshold, message] of invalid) {
      const { seal } = newServer();
      const initialization = seal.initialize({ secretShares, secretThreshold });
      await assert.rejects(initialization, isBadRequest(message));
      assert.equal(await seal.isInitialized(), false);
    }
  });

  it('accepts 255 shares', async () => {
    const { seal } = newServer();
    const init = await seal.initialize({ secretShares: 255, secretThreshold: 255 });
    assert.equal(init.keys.length, 255);
  });

  it('rejects unsealing before initialization', async () => {
    const { seal } = newServer();
    await assert.rejects(seal.submitShare('00'.repeat(33)), isBadRequest(/not initialized/));
  });

  it('returns status when already unsealed', async () => {
    const { seal } = newServer();
    await seal.initialize({ secretShares: 3, secretThreshold: 2 });
    const progress = await seal.submitShare('anything at all');
    assert.equal(progress.sealed, false);
    assert.equal(progress.progress, 0);
  });

  it('unseals a restarted server and reads its data', async () => {
    const { physical, barrier, seal } = newServer();
    const result = await seal.initialize({ secretShares: 3, secretThreshold: 2 });
    await barrier.put('kv/data', Buffer.from('persisted'));

    const restartedBarrier = new AesGcmBarrier(physical);
    const restarted = new SealManager(physical, restartedBarrier);
    assert.equal(await restarted.isInitialized(), true);
    assert.equal((await restarted.status()).sealed, true);

    await restarted.submitShare(result.keys[2]);
    await restarted.submitShare(result.keysBase64[0]);
    assert.equal((await restartedBarrier.get('kv/data'))?.toString(), 'persisted');
  });

  it('initializes and unseals for dev mode', async () => {
    const { barrier, seal } = newServer();
    const { unsealKey } = await seal.initializeAndUnsealForDev();
    assert.equal(Buffer.from(unsealKey, 'base64').length, 32);
    assert.equal(barrier.sealed, false);
    assert.equal((await seal.status()).threshold, 1);

    await seal.seal();
    await seal.submitShare(unsealKey);
    assert.equal(barrier.sealed, false);
  });

  it('never stores the root key, unseal key or barrier keys in clear', async () => {
    const { physical, barrier, seal } = newServer();
    const init = await seal.initialize({ secretShares: 5, secretThreshold: 3 });
    await barrier.put('secret/one', Buffer.from('value one'));
    await barrier.rotate();
    await barrier.put('secret/two', Buffer.from('value two'));

    // Rebuild every key from the shares, the way an attacker holding them would.
    const shares = init.keys.slice(0, 3).map((hex) => new Uint8Array(Buffer.from(hex, 'hex')));
    const unsealKey = Buffer.from(await combine(shares));
    const rootKeyEntry = (await physical.get(ROOT_KEY_PATH)) as Buffer;
    const rootKey = decryptEntry(unsealKey, ROOT_KEY_PATH, rootKeyEntry);
    const keyring = Keyring.deserialize(
      decryptEntry(rootKey, KEYRING_PATH, (await physical.get(KEYRING_PATH)) as Buffer),
    );
    const secrets: Array<[string, Buffer]> = [
      ['unseal key', unsealKey],
      ['root key', rootKey],
      ['term 1 key', keyring.key(1) as Buffer],
      ['term 2 key', keyring.key(2) as Buffer],
    ];

    const values = await allValues(physical);
    assert.ok(values.length >= 5, `expected at least 5 stored values, found ${values.length}`);
    for (const value of values) {
      for (const [name, secret] of secrets) {
        assert.equal(value.indexOf(secret), -1, `${name} found in clear`);
        assert.equal(value.indexOf(secret.toString('hex')), -1, `${name} found as hex`);
        assert.equal(value.indexOf(secret.toString('base64')), -1, `${name} found as base64`);
      }
      for (const share of init.keys) {
        assert.equal(value.indexOf(Buffer.from(share, 'hex')), -1, 'an unseal key share is stored');
      }
    }
  });
});
