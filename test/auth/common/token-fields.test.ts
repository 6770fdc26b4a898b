import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  applyTokenFields,
  authInfoFromSettings,
  defaultTokenSettings,
  sanitizePolicies,
  tokenFieldSpecs,
  tokenSettingsData,
} from '../../../src/auth/common/token-fields.js';
import { KeyedLock } from '../../../src/framework/keyed-lock.js';
import { validateFields } from '../../../src/framework/fields.js';
import { BadRequestError } from '../../../src/errors.js';

/** Validates raw request data with the shared schema, as the router does, then applies it. */
function apply(raw: Record<string, unknown>, current = defaultTokenSettings()) {
  const { values } = validateFields(tokenFieldSpecs({ ttl: 'token_ttl' }), raw, false);
  return applyTokenFields(current, values, { ttl: 'token_ttl' });
}

describe('token fields', () => {
  test('every field is parsed', () => {
    const settings = apply({
      token_policies: 'Web, db ,web',
      token_ttl: '1h',
      token_max_ttl: 7200,
      token_explicit_max_ttl: '3h',
      token_period: '0',
      token_num_uses: '3',
      token_bound_cidrs: ['10.0.0.0/8'],
      token_no_default_policy: 'true',
      token_type: 'service',
    });
    assert.deepEqual(settings, {
      policies: ['db', 'web'],
      ttl: 3600,
      maxTtl: 7200,
      explicitMaxTtl: 10800,
      period: 0,
      numUses: 3,
      boundCidrs: ['10.0.0.0/8'],
      noDefaultPolicy: true,
      type: 'service',
    });
  });

  test('absent fields keep their value', () => {
    const first = apply({ token_policies: ['a'], token_ttl: 60 });
    const second = apply({ token_max_ttl: 600 }, first);
    assert.deepEqual(second.policies, ['a']);
    assert.equal(second.ttl, 60);
    assert.equal(second.maxTtl, 600);
  });

  test('deprecated names are read', () => {
    assert.deepEqual(apply({ policies: 'x,y' }).policies, ['x', 'y']);
    assert.equal(apply({ ttl: '5m' }).ttl, 300);
    // The token_ name wins over the deprecated one.
    assert.deepEqual(apply({ policies: 'x', token_policies: 'z' }).policies, ['z']);
    assert.equal(apply({ ttl: 5, token_ttl: 7 }).ttl, 7);
  });

  test('all token types are accepted', () => {
    for (const type of ['service', 'batch', 'default', 'default-service', 'default-batch']) {
      assert.equal(apply({ token_type: type }).type, type);
    }
    assert.equal(apply({ token_type: '' }).type, 'default');
  });

  test('invalid values are rejected', () => {
    const cases: Array<Record<string, unknown>> = [
      { token_ttl: '-1s' },
      { token_ttl: '10x' },
      { token_max_ttl: 1e15 },
      { token_period: '9999999999999999h' },
      { token_num_uses: -1 },
      { token_num_uses: 'many' },
      { token_type: 'weird' },
      { token_bound_cidrs: '10.0.0.0/40' },
      { token_ttl: 100, token_max_ttl: 50 },
      { token_type: 'batch', token_period: 60 },
      { token_type: 'default-batch', token_num_uses: 2 },
      { token_no_default_policy: 'maybe' },
    ];
    for (const raw of cases) {
      assert.throws(() => apply(raw), BadRequestError, JSON.stringify(raw));
    }
  });

  test('sanitizePolicies trims, lower-cases and sorts', () => {
    assert.deepEqual(sanitizePolicies([' B', 'a', '', 'b', 'A ']), ['a', 'b']);
  });

  test('read data and auth info', () => {
    const settings = apply({ token_policies: 'p', token_ttl: 60, token_type: 'default-service', token_bound_cidrs: '127.0.0.1' });
    const data = tokenSettingsData(settings);
    assert.deepEqual(data.token_policies, ['p']);
    assert.deepEqual(data.policies, ['p']);
    assert.equal(data.token_ttl, 60);
    assert.equal(data.token_type, 'default-service');

    const auth = authInfoFromSettings(settings, { metadata: { a: 'b' }, internalData: { x: 1 } });
    assert.equal(auth.tokenType, 'service');
    assert.deepEqual(auth.policies, ['p']);
    assert.equal(auth.ttl, 60);
    assert.deepEqual(auth.boundCidrs, ['127.0.0.1']);
    assert.equal(auth.renewable, true);
    assert.equal(auth.noDefaultPolicy, false);
    assert.equal(authInfoFromSettings({ ...settings, type: 'default-batch' }, { metadata: {}, internalData: {} }).tokenType, 'batch');
  });
});

describe('keyed lock', () => {
  test('same key runs in order, other keys run alongside', async () => {
    const lock = new KeyedLock();
    const events: string[] = [];
    let releaseFirst!: () => void;
    const gate = new Promise<void>((resolve) => (releaseFirst = resolve));

    const first = lock.run('a', async () => {
      events.push('a1 start');
      await gate;
      events.push('a1 end');
    });
    const second = lock.run('a', async () => {
      events.push('a2');
    });
    const other = lock.run('b', async () => {
      events.push('b');
    });
    await other;
    releaseFirst();
    await Promise.all([first, second]);
    assert.deepEqual(events, ['a1 start', 'b', 'a1 end', 'a2']);
  });

  test('a failing call releases the key', async () => {
    const lock = new KeyedLock();
    await assert.rejects(lock.run('k', async () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await lock.run('k', async () => 42), 42);
  });
});
