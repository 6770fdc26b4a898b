import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LEASE_ROOT_PATHS, leasePaths } from '../../../src/core/expiration/paths.js';
import { BadRequestError, NotFoundError } from '../../../src/errors.js';
import { BackendRouter } from '../../../src/framework/backend.js';
import type { LogicalRequest, LogicalResponse, Operation } from '../../../src/framework/types.js';
import { createLeaseFixture, createLeases, MOUNT, waitFor, type LeaseFixture } from './fixture.js';

let fixture: LeaseFixture;
let router: BackendRouter;

before(async () => {
  fixture = await createLeaseFixture();
  const mount = fixture.mounted.get(MOUNT);
  assert.ok(mount);
  router = new BackendRouter({ paths: leasePaths(fixture.manager), rootPaths: LEASE_ROOT_PATHS }, { ...mount.context, mountPoint: 'sys/' });
});

after(async () => {
  await fixture.manager.stop();
});

/** Sends a request for a path relative to `sys/` through the router, as the pipeline would. */
async function call(
  operation: Operation,
  path: string,
  data: Record<string, unknown> = {},
  query: Record<string, string> = {},
): Promise<LogicalResponse | null> {
  const req: LogicalRequest = {
    id: 'request-1',
    operation,
    path: `sys/${path}`,
    data: { ...query, ...data },
    query,
    headers: {},
    remoteAddress: '127.0.0.1',
  };
  const routed = router.route(req, path);
  return router.handle(routed, operation);
}

describe('lease paths', () => {
  it('looks a lease up', async () => {
    const [grant] = await createLeases(fixture, 1, { ttl: 600 });
    const response = await call('update', 'leases/lookup', { lease_id: grant.leaseId });
    assert.equal(response?.data?.id, grant.leaseId);
    assert.equal(response?.data?.ttl, 600);
    assert.equal(response?.data?.renewable, true);
    assert.equal(response?.data?.last_renewal, null);
    assert.equal(typeof response?.data?.expire_time, 'string');
  });

  it('rejects a lookup without or with an unknown ID', async () => {
    await assert.rejects(call('update', 'leases/lookup', {}), BadRequestError);
    await assert.rejects(call('update', 'leases/lookup', { lease_id: 'test/creds/reader/none' }), /invalid lease ID/);
  });

  it('lists lease IDs with paging', async () => {
    await createLeases(fixture, 3, { requestPath: 'test/creds/lister' });
    const all = await call('list', 'leases/lookup/test/creds/lister/');
    const keys = all?.data?.keys as string[];
    assert.equal(keys.length, 3);
    const page = await call('list', 'leases/lookup/test/creds/lister', {}, { after: keys[0], limit: '1' });
    assert.deepEqual(page?.data?.keys, [keys[1]]);
    const root = await call('list', 'leases/lookup/');
    assert.deepEqual(root?.data?.keys, ['test/']);
    await assert.rejects(call('list', 'leases/lookup/test/', {}, { limit: 'many' }), /invalid "limit"/);
  });

  it('renews with the lease in the envelope fields', async () => {
    const [grant] = await createLeases(fixture, 1, { ttl: 60 });
    const response = await call('update', 'leases/renew', { lease_id: grant.leaseId, increment: '5m' });
    assert.deepEqual(response?.lease, { id: grant.leaseId, duration: 300, renewable: true });
    assert.equal(response?.data, null);

    const legacy = await call('update', `renew/${grant.leaseId}`, { increment: 120 });
    assert.deepEqual(legacy?.lease, { id: grant.leaseId, duration: 120, renewable: true });
  });

  it('rejects malformed increments', async () => {
    const [grant] = await createLeases(fixture, 1, { ttl: 60 });
    for (const increment of ['-1s', '10x', 10 ** 12]) {
      await assert.rejects(call('update', 'leases/renew', { lease_id: grant.leaseId, increment }), BadRequestError, String(increment));
    }
    const info = await fixture.manager.lookup(grant.leaseId);
    assert.equal(info?.ttl, 60);
  });

  it('revokes by body and by URL', async () => {
    const [first, second] = await createLeases(fixture, 2, { requestPath: 'test/creds/revoked' });
    assert.equal(await call('update', 'leases/revoke', { lease_id: first.leaseId }), null);
    assert.equal(await call('update', `revoke/${second.leaseId}`), null);
    assert.equal(await fixture.manager.lookup(first.leaseId), null);
    assert.equal(await fixture.manager.lookup(second.leaseId), null);
    assert.ok(fixture.revoked.includes(first.leaseId));
  });

  it('revokes in the background without sync', async () => {
    const [grant] = await createLeases(fixture, 1, { requestPath: 'test/creds/background' });
    assert.equal(await call('update', 'leases/revoke', { lease_id: grant.leaseId, sync: false }), null);
    await waitFor(() => fixture.revoked.includes(grant.leaseId), 'the background revocation');
  });

  it('revokes and force-revokes by prefix', async () => {
    await createLeases(fixture, 3, { requestPath: 'test/creds/prefixed' });
    await call('update', 'leases/revoke-prefix/test/creds/prefixed');
    assert.equal((await fixture.manager.list('test/creds/prefixed/', {})).length, 0);

    await createLeases(fixture, 2, { requestPath: 'test/creds/forced' });
    fixture.failRevoke.message = 'backend down';
    try {
      await assert.rejects(call('update', 'revoke-prefix/test/creds/forced'), /failed to revoke 2 of 2 leases/);
      await call('update', 'leases/revoke-force/test/creds/forced');
    } finally {
      fixture.failRevoke.message = null;
    }
    assert.equal((await fixture.manager.list('test/creds/forced/', {})).length, 0);
  });

  it('counts irrevocable leases', async () => {
    await assert.rejects(call('read', 'leases/count'), /missing "type"/);
    await assert.rejects(call('read', 'leases/count', {}, { type: 'all' }), /only "irrevocable"/);
    const response = await call('read', 'leases/count', {}, { type: 'irrevocable' });
    assert.deepEqual(response?.data, { lease_count: 0, counts: {} });
  });

  it('starts a tidy', async () => {
    const response = await call('update', 'leases/tidy');
    assert.equal(response?.status, 202);
    assert.equal(response?.warnings?.length, 1);
  });

  it('declares the sudo paths', () => {
    assert.ok(LEASE_ROOT_PATHS.includes('leases/revoke-force/*'));
    assert.ok(LEASE_ROOT_PATHS.includes('leases/lookup/*'));
  });

  it('answers 404 for an unknown lease path', async () => {
    await assert.rejects(call('update', 'leases/unknown'), NotFoundError);
  });
});
