import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PolicyStore } from '../../../src/core/policy/store.js';
import { InmemPhysical } from '../../../src/storage/inmem.js';
import { StorageView } from '../../../src/storage/storage.js';

describe('PolicyStore ACL cache', () => {
  it('keeps a newline name apart from two names', async () => {
    const store = new PolicyStore(new StorageView(new InmemPhysical(), 'policies/'));
    await store.set('a', 'path "secret/a" { capabilities = ["read"] }');
    await store.set('b', 'path "secret/b" { capabilities = ["read"] }');

    const both = await store.acl(['a', 'b']);
    assert.equal(both.check('secret/a', 'read').allowed, true);

    const joined = await store.acl(['a\nb']);
    assert.equal(joined.check('secret/a', 'read').allowed, false);
    assert.equal(joined.check('secret/b', 'read').allowed, false);
  });

  it('sees a policy change after a cached lookup', async () => {
    const store = new PolicyStore(new StorageView(new InmemPhysical(), 'policies/'));
    await store.set('app', 'path "secret/x" { capabilities = ["read"] }');
    assert.equal((await store.acl(['app'])).check('secret/x', 'read').allowed, true);
    await store.set('app', 'path "secret/x" { capabilities = ["deny"] }');
    assert.equal((await store.acl(['app'])).check('secret/x', 'read').allowed, false);
  });
});
