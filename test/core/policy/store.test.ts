import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_POLICY_TEXT } from '../../../src/core/policy/builtin.js';
import { normalizePolicyName, PolicyStore } from '../../../src/core/policy/store.js';
import { BadRequestError, InternalError } from '../../../src/errors.js';
import { InmemPhysical } from '../../../src/storage/inmem.js';
import type { ListOptions, TxOp } from '../../../src/storage/physical.js';
import { StorageView, type Storage } from '../../../src/storage/storage.js';

/** Real in-memory storage that counts reads, to observe caching. */
class CountingStorage implements Storage {
  gets = 0;

  constructor(private readonly inner: Storage) {}

  get(key: string): Promise<Buffer | null> {
    this.gets++;
    return this.inner.get(key);
  }

  put(key: string, value: Buffer): Promise<void> {
    return this.inner.put(key, value);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  list(prefix: string, options?: ListOptions): Promise<string[]> {
    return this.inner.list(prefix, options);
  }

  transaction(ops: TxOp[]): Promise<void> {
    return this.inner.transaction(ops);
  }
}

function newStore() {
  const physical = new InmemPhysical();
  const view = new StorageView(physical, 'sys/');
  const counting = new CountingStorage(view);
  return { physical, view, counting, store: new PolicyStore(counting) };
}

const READ_SECRET = 'path "secret/*" {\n  capabilities = ["read"]\n}\n';

describe('PolicyStore', () => {
  it('stores name and raw text as JSON', async () => {
    const { physical, store } = newStore();
    await store.set('Dev', READ_SECRET);
    const raw = await physical.get('sys/policy/dev');
    assert.ok(raw !== null);
    assert.deepEqual(JSON.parse(raw.toString('utf8')), { name: 'dev', raw: READ_SECRET });

    const stored = await store.get('DEV');
    assert.equal(stored?.name, 'dev');
    assert.equal(stored?.raw, READ_SECRET);
    assert.equal(stored?.policy.paths[0].path, 'secret/*');
  });

  it('returns null for a missing policy', async () => {
    const { store } = newStore();
    assert.equal(await store.get('nope'), null);
  });

  it('rejects an invalid policy and stores nothing', async () => {
    const { physical, store } = newStore();
    await assert.rejects(store.set('bad', 'path "a" {\n  capabilities = ["reed"]\n}'), (err: unknown) => {
      assert.ok(err instanceof BadRequestError);
      assert.match(err.message, /policy "bad", line 2/);
      return true;
    });
    assert.equal(await physical.get('sys/policy/bad'), null);
  });

  it('validates names', async () => {
    const { store } = newStore();
    for (const name of ['', 'a/b', 'a b', '..', 'x'.repeat(257), 'naïve']) {
      await assert.rejects(store.set(name, READ_SECRET), BadRequestError, JSON.stringify(name));
    }
    assert.equal(normalizePolicyName('Team_A.v2-x'), 'team_a.v2-x');
  });

  it('creates the default policy on first use', async () => {
    const { physical, store } = newStore();
    assert.equal(await physical.get('sys/policy/default'), null);
    const stored = await store.get('default');
    assert.equal(stored?.raw, DEFAULT_POLICY_TEXT);
    assert.ok(await physical.get('sys/policy/default'));
  });

  it('keeps an updated default policy', async () => {
    const { physical, view } = newStore();
    const first = new PolicyStore(view);
    await first.set('default', READ_SECRET);
    const second = new PolicyStore(new StorageView(physical, 'sys/'));
    assert.equal((await second.get('default'))?.raw, READ_SECRET);
  });

  it('refuses to delete default', async () => {
    const { store } = newStore();
    await assert.rejects(store.delete('default'), /cannot delete the built-in "default" policy/);
  });

  it('protects root', async () => {
    const { store } = newStore();
    await assert.rejects(store.set('root', READ_SECRET), /cannot update the built-in "root" policy/);
    await assert.rejects(store.set('ROOT', READ_SECRET), BadRequestError);
    await assert.rejects(store.delete('root'), /cannot delete the built-in "root" policy/);
    assert.equal(await store.get('root'), null);
  });

  it('protects response-wrapping', async () => {
    const { store } = newStore();
    await assert.rejects(store.set('response-wrapping', READ_SECRET), BadRequestError);
    const acl = await store.acl(['response-wrapping']);
    assert.equal(acl.check('sys/wrapping/unwrap', 'update').allowed, true);
    assert.equal(acl.check('secret/x', 'read').allowed, false);
  });

  it('deletes idempotently', async () => {
    const { store } = newStore();
    await store.set('gone', READ_SECRET);
    await store.delete('gone');
    await store.delete('gone');
    assert.equal(await store.get('gone'), null);
  });

  it('lists with root and default', async () => {
    const { store } = newStore();
    await store.set('zeta', READ_SECRET);
    await store.set('alpha', READ_SECRET);
    assert.deepEqual(await store.list(), ['alpha', 'default', 'root', 'zeta']);
    assert.deepEqual(await store.list({ after: 'alpha', limit: 2 }), ['default', 'root']);
    assert.deepEqual(await store.list({ after: 'zeta' }), []);
    assert.deepEqual(await store.list({ limit: 1 }), ['alpha']);
  });

  it('caches compiled ACLs', async () => {
    const { counting, store } = newStore();
    await store.set('dev', READ_SECRET);
    const first = await store.acl(['dev', 'default']);
    const readsAfterFirst = counting.gets;
    const second = await store.acl(['default', 'DEV', 'dev']);
    assert.equal(second, first);
    assert.equal(counting.gets, readsAfterFirst);
    assert.equal(first.check('secret/x', 'read').allowed, true);
    assert.equal(first.check('cubbyhole/x', 'read').allowed, true);
  });

  it('invalidates the cache on set and delete', async () => {
    const { store } = newStore();
    await store.set('dev', READ_SECRET);
    const before = await store.acl(['dev']);
    await store.set('dev', 'path "secret/*" {\n  capabilities = ["deny"]\n}\n');
    const after = await store.acl(['dev']);
    assert.notEqual(after, before);
    assert.equal(after.check('secret/x', 'read').allowed, false);

    await store.delete('dev');
    const deleted = await store.acl(['dev']);
    assert.deepEqual(deleted.capabilities('secret/x'), ['deny']);
  });

  it('skips missing and invalid names', async () => {
    const { store } = newStore();
    await store.set('dev', READ_SECRET);
    const acl = await store.acl(['dev', 'missing', 'bad name/x']);
    assert.equal(acl.check('secret/x', 'read').allowed, true);
  });

  it('returns the root ACL for root', async () => {
    const { store } = newStore();
    const acl = await store.acl(['default', 'root']);
    assert.equal(acl.root, true);
  });

  it('caches templated ACLs per identity', async () => {
    const { store } = newStore();
    await store.set('own', 'path "secret/{{identity.entity.id}}/*" {\n  capabilities = ["read"]\n}\n');
    const alice = await store.acl(['own'], { entityId: 'alice' });
    const bob = await store.acl(['own'], { entityId: 'bob' });
    assert.notEqual(alice, bob);
    assert.equal(alice.check('secret/alice/x', 'read').allowed, true);
    assert.equal(alice.check('secret/bob/x', 'read').allowed, false);
    assert.equal(bob.check('secret/bob/x', 'read').allowed, true);
    assert.equal(await store.acl(['own'], { entityId: 'alice' }), alice);
  });

  it('fails on a stored policy that no longer parses', async () => {
    const { physical, store } = newStore();
    await physical.put('sys/policy/broken', Buffer.from(JSON.stringify({ name: 'broken', raw: 'path "a" { nope = 1 }' })));
    await assert.rejects(store.acl(['broken']), InternalError);
  });
});
