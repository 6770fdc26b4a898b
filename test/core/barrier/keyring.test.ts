import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Keyring } from '../../../src/core/barrier/keyring.js';
import { InternalError } from '../../../src/errors.js';

describe('Keyring', () => {
  it('round-trips through serialize', () => {
    const keyring = Keyring.create().withNewTerm().withNewTerm();
    const parsed = Keyring.deserialize(keyring.serialize());

    assert.equal(parsed.activeTerm, 3);
    for (const term of [1, 2, 3]) {
      assert.deepEqual(parsed.key(term), keyring.key(term));
    }
    assert.equal(parsed.key(4), undefined);
    assert.equal(parsed.active().installTime.getTime(), keyring.active().installTime.getTime());
  });

  it('copies keys out of the serialized buffer', () => {
    const keyring = Keyring.create();
    const serialized = keyring.serialize();
    const parsed = Keyring.deserialize(serialized);
    serialized.fill(0);
    assert.deepEqual(parsed.key(1), keyring.key(1));
  });

  it('zeroes every key', () => {
    const keyring = Keyring.create().withNewTerm();
    keyring.zero();
    assert.deepEqual(keyring.key(1), Buffer.alloc(32));
    assert.deepEqual(keyring.key(2), Buffer.alloc(32));
  });

  it('gives each term a distinct key', () => {
    const keyring = Keyring.create().withNewTerm();
    assert.notDeepEqual(keyring.key(1), keyring.key(2));
  });

  it('rejects malformed serialized keyrings', () => {
    const serialized = Keyring.create().serialize();
    assert.throws(() => Keyring.deserialize(Buffer.alloc(0)), InternalError);
    const truncated = serialized.subarray(0, serialized.length - 1);
    assert.throws(() => Keyring.deserialize(truncated), InternalError);

    const badVersion = Buffer.from(serialized);
    badVersion[0] = 9;
    assert.throws(() => Keyring.deserialize(badVersion), /unsupported keyring format/);

    const missingActive = Buffer.from(serialized);
    missingActive.writeUInt32BE(5, 1);
    assert.throws(() => Keyring.deserialize(missingActive), /active term 5 has no key/);
  });
});
