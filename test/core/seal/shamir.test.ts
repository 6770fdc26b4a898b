import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  combineShares,
  decodeShare,
  shareSize,
  splitUnsealKey,
} from '../../../src/core/seal/shamir.js';
import { BadRequestError } from '../../../src/errors.js';

describe('shamir', () => {
  it('splits and combines Buffers', async () => {
    const key = randomBytes(32);
    const shares = await splitUnsealKey(key, 4, 2);
    assert.equal(shares.length, 4);
    for (const share of shares) {
      assert.ok(Buffer.isBuffer(share));
      assert.equal(share.length, shareSize(4));
    }
    assert.deepEqual(await combineShares([shares[3], shares[1]]), key);
  });

  it('uses a copy of the key as the single share', async () => {
    const key = randomBytes(32);
    const [share] = await splitUnsealKey(key, 1, 1);
    assert.deepEqual(share, key);
    share.fill(0);
    assert.notDeepEqual(key, Buffer.alloc(32));
    assert.equal(shareSize(1), 32);
  });

  it('combines a wrong set into a wrong key', async () => {
    const key = randomBytes(32);
    const shares = await splitUnsealKey(key, 3, 3);
    assert.notDeepEqual(await combineShares(shares.slice(0, 2)), key);
  });

  it('decodes hex and base64', () => {
    const share = randomBytes(33);
    share[32] = 5;
    assert.deepEqual(decodeShare(share.toString('hex'), 33), share);
    assert.deepEqual(decodeShare(share.toString('base64'), 33), share);
  });

  it('rejects malformed text', () => {
    for (const text of ['', '===', 'abc', 'g'.repeat(66), 'QUJD\n']) {
      assert.throws(() => decodeShare(text, 33), BadRequestError);
    }
  });
});
