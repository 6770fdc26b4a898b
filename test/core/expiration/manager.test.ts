import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { BadRequestError, InternalError } from '../../../src/errors.js';
import type { ExpirationManager } from '../../../src/core/expiration/manager.js';
import type { ListOptions, Physical, TxOp } from '../../../src/storage/physical.js';
import { SqlitePhysical } from '../../../src/storage/sqlite.js';
import { createLeaseFixture, createLeases, MOUNT, seedLeases, waitFor, type LeaseFixture } from './fixture.js';

const managers: ExpirationManager[] = [];
after(async () => {
  for (const manager of managers) await manager.stop();
});

async function fixtureWith(options: Parameters<typeof createLeaseFixture>[0] = {}): Promise<LeaseFixture> {
  const fixture = await createLeaseFixture(options);
  managers.push(fixture.manager);
  return fixture;
}

function register(fixture: LeaseFixture, secret: { ttl?: number; maxTtl?: number; renewable?: boolean; type?: string } = {}, tokenId = 'token-a') {
  return fixture.manager.register({
    requestPath: 'test/creds/reader',
    mountPoint: MOUNT,
    secret: {
      type: secret.type ?? 'test',
      ttl: secret.ttl ?? 0,
      maxTtl: secret.maxTtl ?? 0,
      renewable: secret.renewable ?? true,
      internalData: { username: 'v-reader', password: 'hunter2-secret' },
    },
    tokenId,
    system: fixture.system,
  });
}

describe('register', () => {
  it('uses the mount default TTL', async () => {
    const fixture = await fixtureWith();
    const grant = await register(fixture);
    assert.match(grant.leaseId, /^test\/creds\/reader\/[A-Za-z0-9_-]{24}$/);
    assert.equal(grant.ttl, 3600);
    assert.equal(grant.renewable, true);
    assert.deepEqual(grant.warnings, []);
  });

  it('caps at the mount max with a warning', async () => {
    const fixture = await fixtureWith();
    const grant = await register(fixture, { ttl: 200_000 });
    assert.equal(grant.ttl, 86400);
    assert.equal(grant.warnings.length, 1);
    assert.match(grant.warnings[0], /200000s.*86400s/);
  });

  it('lets the smaller max TTL win', async () => {
    const fixture = await fixtureWith();
    const bySecret = await register(fixture, { ttl: 5000, maxTtl: 600 });
    assert.equal(bySecret.ttl, 600);
    assert.equal(bySecret.warnings.length, 1);

    fixture.ttl.maxLeaseTtl = 300;
    const byMount = await register(fixture, { ttl: 5000, maxTtl: 600 });
    assert.equal(byMount.ttl, 300);
  });

  it('caps the default TTL without a warning', async () => {
    const fixture = await fixtureWith();
    fixture.ttl.defaultLeaseTtl = 7200;
    const grant = await register(fixture, { maxTtl: 60 });
    assert.equal(grant.ttl, 60);
    assert.deepEqual(grant.warnings, []);
  });

  it('persists the lease before returning', async () => {
    const fixture = await fixtureWith();
    const grant = await register(fixture, { ttl: 120 });
    const restarted = fixture.newManager();
    const info = await restarted.lookup(grant.leaseId);
    assert.ok(info);
    assert.equal(info.id, grant.leaseId);
    assert.equal(info.ttl, 120);
    assert.equal(info.renewable, true);
    assert.equal(info.last_renewal, null);
    assert.equal(info.issue_time, new Date(fixture.clock.now).toISOString());
    assert.ok(!JSON.stringify(info).includes('hunter2'), 'lookup exposes internal data');
  });

  it('rejects an unknown secret type', async () => {
    const fixture = await fixtureWith();
    await assert.rejects(register(fixture, { type: 'nope' }), InternalError);
  });

  it('rejects an unmounted mount', async () => {
    const fixture = await fixtureWith();
    fixture.mounted.clear();
    await assert.rejects(register(fixture), InternalError);
  });

  it('marks a type without renew not renewable', async () => {
    const fixture = await fixtureWith();
    const grant = await register(fixture, { type: 'fixed', ttl: 60 });
    assert.equal(grant.renewable, false);
  });
});

describe('renew', () => {
  it('extends by the increment', async () => {
    const fixture = await fixtureWith();
    const grant = await register(fixture, { ttl: 60 });
    fixture.clock.now += 30_000;
    const renewed = await fixture.manager.renew(grant.leaseId, 600);
    assert.equal(renewed.ttl, 600);
    assert.deepEqual(renewed.warnings, []);
    assert.equal(fixture.renewed.length, 1);
    assert.equal(fixture.renewed[0].increment, 600);
    const info = await fixture.manager.lookup(grant.leaseId);
    assert.equal(info?.ttl, 600);
    assert.equal(info?.last_renewal, new Date(fixture.clock.now).toISOString());
  });

  it('uses the mount default without increment', async () => {
    const fixture = await fixtureWith();
    const grant = await register(fixture, { ttl: 60 });
    const renewed = await fixture.manager.renew(grant.leaseId, undefined);
    assert.equal(renewed.ttl, 3600);
  });

  it('caps at the max expiry with a warning', async () => {
    const fixture = await fixtureWith();
    const grant = await register(fixture, { ttl: 200, maxTtl: 300 });
    fixture.clock.now += 100_000;
    const renewed = await fixture.manager.renew(grant.leaseId, 1000);
    assert.equal(renewed.ttl, 200);
    assert.equal(renewed.warnings.length, 1);
    assert.match(renewed.warnings[0], /1000s/);
  });

  it('caps at a lowered mount max', async () => {
    const fixture = await fixtureWith();
    const grant = await register(fixture, { ttl: 60 });
    fixture.ttl.maxLeaseTtl = 120;
    const renewed = await fixture.manager.renew(grant.leaseId, 1000);
    assert.equal(renewed.ttl, 120);
  });

  it('rejects a lease that is not renewable', async () => {
    const fixture = await fixtureWith();
    const grant = await register(fixture, { ttl: 60, renewable: false });
    await assert.rejects(fixture.manager.renew(grant.leaseId, 60), (err: Error) => {
      assert.ok(err instanceof BadRequestError);
      assert.equal(err.message, 'lease is not renewable');
      return true;
    });
  });

  it('rejects an unknown lease ID', async () => {
    const fixture = await fixtureWith();
    await assert.rejects(fixture.manager.renew('test/creds/reader/nope', 60), (err: Error) => {
      assert.ok(err instanceof BadRequestError);
      assert.match(err.message, /^invalid lease ID/);
      return true;
    });
  });

  it('rejects an expired lease', async () => {
    const fixture = await fixtureWith({ start: false });
    const grant = await register(fixture, { ttl: 60 });
    fixture.clock.now += 61_000;
    await assert.rejects(fixture.manager.renew(grant.leaseId, 60), /lease expired/);
  });
});

describe('expiry', () => {
  it('revokes a lease when it expires', async () => {
    const fixture = await fixtureWith();
    const grant = await register(fixture, { ttl: 10 });
    const other = await register(fixture, { ttl: 100 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(fixture.revoked, []);

    fixture.clock.now += 11_000;
    await waitFor(() => fixture.revoked.length === 1, 'the expired lease to be revoked');
    assert.deepEqual(fixture.revoked, [grant.leaseId]);
    // The backend revokes first; the lease entry goes in the next group commit.
    await waitFor(async () => (await fixture.manager.lookup(grant.leaseId)) === null, 'the expired lease to be removed');
    assert.ok(await fixture.manager.lookup(other.leaseId));
  });

  it('moves expiry on renewal', async () => {
    const fixture = await fixtureWith();
    const grant = await register(fixture, { ttl: 10 });
    await fixture.manager.renew(grant.leaseId, 100);
    fixture.clock.now += 11_000;
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.deepEqual(fixture.revoked, []);
    fixture.clock.now += 90_000;
    await waitFor(() => fixture.revoked.length === 1, 'the renewed lease to expire');
  });

  it('revokes on time after a restart', async () => {
    const fixture = await fixtureWith();
    const short = await register(fixture, { ttl: 60 });
    const long = await register(fixture, { ttl: 3600 });
    await fixture.manager.stop();

    // Down for two minutes: the short lease expired meanwhile.
    fixture.clock.now += 120_000;
    fixture.manager = fixture.newManager();
    managers.push(fixture.manager);
    await fixture.manager.start();
    await waitFor(() => fixture.revoked.length === 1, 'the lease that expired while stopped');
    assert.deepEqual(fixture.revoked, [short.leaseId]);
    assert.equal((await fixture.manager.lookup(long.leaseId))?.ttl, 3480);

    fixture.clock.now += 3480_000;
    await waitFor(() => fixture.revoked.length === 2, 'the other lease to expire');
    assert.equal(fixture.revoked[1], long.leaseId);
  });

  it('keeps only the window in memory', async () => {
    const fixture = await fixtureWith({ start: false, tuning: { lookaheadMs: 60_000, pageSize: 50 } });
    await seedLeases(fixture, 20, { ttl: 30 });
    await seedLeases(fixture, 500, { ttl: 3600, spreadSeconds: 3600 });
    await fixture.manager.start();
    await waitFor(() => fixture.manager.trackedLeases >= 20, 'the near leases to load');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(fixture.manager.trackedLeases < 100, `tracked ${fixture.manager.trackedLeases} leases`);

    fixture.clock.now += 31_000;
    await waitFor(() => fixture.revoked.length === 20, 'the near leases to expire');
    fixture.clock.now += 7200_000;
    await waitFor(() => fixture.revoked.length === 520, 'every lease to expire', 10_000);
  });

  it('stops at the loaded maximum', async () => {
    const fixture = await fixtureWith({ start: false, tuning: { maxLoaded: 100, pageSize: 40 } });
    await seedLeases(fixture, 300, { ttl: 10 });
    await fixture.manager.start();
    await waitFor(() => fixture.manager.trackedLeases > 0, 'the loader to start');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(fixture.manager.trackedLeases <= 140, `tracked ${fixture.manager.trackedLeases} leases`);
    fixture.clock.now += 11_000;
    await waitFor(() => fixture.revoked.length === 300, 'all leases to expire');
  });

  it('revokes a token on its expiry', async () => {
    const fixture = await fixtureWith();
    fixture.tokens.add('token-b');
    await createLeases(fixture, 2, { tokenId: 'token-b', ttl: 3600 });
    await fixture.manager.registerToken({ tokenId: 'token-b', creationPath: 'auth/token/create', expireTime: fixture.clock.now + 60_000 });
    assert.ok(await fixture.manager.lookup('auth/token/create/token-b'));

    fixture.clock.now += 61_000;
    await waitFor(() => fixture.revokedTokens.length === 1, 'the token to be revoked');
    assert.deepEqual(fixture.revokedTokens, ['token-b']);
    await waitFor(() => fixture.revoked.length === 2, 'the token leases to be revoked');
    // The token's own lease is removed after its leases, in a later group commit.
    await waitFor(async () => (await fixture.manager.lookup('auth/token/create/token-b')) === null, "the token's own lease to be removed");
  });
});

describe('failed revocation', () => {
  it('retries, then marks irrevocable', async () => {
    const fixture = await fixtureWith({ tuning: { maxRevokeAttempts: 3 } });
    const grant = await register(fixture, { ttl: 10 });
    fixture.failRevoke.message = 'database unreachable';
    fixture.clock.now += 11_000;

    await waitFor(async () => (await fixture.manager.lookup(grant.leaseId))?.revoke_attempts === 1, 'the first attempt');
    let info = await fixture.manager.lookup(grant.leaseId);
    assert.equal(info?.last_error, 'database unreachable');
    assert.equal(info?.irrevocable, false);
    assert.ok(!JSON.stringify(info).includes('hunter2'), 'lookup exposes internal data');

    // The backoff doubles: 1s, then 2s.
    fixture.clock.now += 999;
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal((await fixture.manager.lookup(grant.leaseId))?.revoke_attempts, 1);
    fixture.clock.now += 1;
    await waitFor(async () => (await fixture.manager.lookup(grant.leaseId))?.revoke_attempts === 2, 'the second attempt');
    fixture.clock.now += 2000;
    await waitFor(async () => (await fixture.manager.lookup(grant.leaseId))?.irrevocable === true, 'the lease to become irrevocable');
    info = await fixture.manager.lookup(grant.leaseId);
    assert.equal(info?.revoke_attempts, 3);
    assert.deepEqual(await fixture.manager.count(), { lease_count: 1, counts: { [MOUNT]: 1 } });

    // No more attempts once irrevocable.
    fixture.clock.now += 3600_000;
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal((await fixture.manager.lookup(grant.leaseId))?.revoke_attempts, 3);
  });

  it('force removes an irrevocable lease', async () => {
    const fixture = await fixtureWith({ tuning: { maxRevokeAttempts: 1 } });
    const grant = await register(fixture, { ttl: 10 });
    fixture.failRevoke.message = 'database unreachable';
    fixture.clock.now += 11_000;
    await waitFor(async () => (await fixture.manager.lookup(grant.leaseId))?.irrevocable === true, 'the lease to become irrevocable');

    await assert.rejects(fixture.manager.revokePrefix('test/creds/', { force: false }), /failed to revoke 1 of 1 leases/);
    fixture.failRevoke.message = 'still unreachable';
    await fixture.manager.revokePrefix('test/creds/', { force: true });
    assert.equal(await fixture.manager.lookup(grant.leaseId), null);
    assert.deepEqual(fixture.revoked, []);
    assert.deepEqual(await fixture.manager.count(), { lease_count: 0, counts: {} });
  });

  it('an explicit revoke retries an irrevocable lease', async () => {
    const fixture = await fixtureWith({ tuning: { maxRevokeAttempts: 1 } });
    const grant = await register(fixture, { ttl: 10 });
    fixture.failRevoke.message = 'database unreachable';
    await assert.rejects(fixture.manager.revoke(grant.leaseId), (err: Error) => {
      assert.ok(err instanceof BadRequestError);
      assert.match(err.message, /database unreachable/);
      return true;
    });
    assert.equal((await fixture.manager.lookup(grant.leaseId))?.irrevocable, true);

    fixture.failRevoke.message = null;
    await fixture.manager.revoke(grant.leaseId);
    assert.deepEqual(fixture.revoked, [grant.leaseId]);
    assert.equal(await fixture.manager.lookup(grant.leaseId), null);
  });

  it('makes leases of a removed mount irrevocable', async () => {
    const fixture = await fixtureWith();
    const grant = await register(fixture, { ttl: 10 });
    fixture.mounted.clear();
    fixture.clock.now += 11_000;
    await waitFor(async () => (await fixture.manager.lookup(grant.leaseId))?.irrevocable === true, 'the lease to become irrevocable');
    const info = await fixture.manager.lookup(grant.leaseId);
    assert.equal(info?.revoke_attempts, 1);
    assert.match(info?.last_error ?? '', /no longer mounted/);
  });
});

describe('revocation', () => {
  it('revokes a single lease', async () => {
    const fixture = await fixtureWith();
    const grant = await register(fixture, { ttl: 60 });
    await fixture.manager.revoke(grant.leaseId);
    assert.deepEqual(fixture.revoked, [grant.leaseId]);
    assert.equal(await fixture.manager.lookup(grant.leaseId), null);
    await fixture.manager.revoke(grant.leaseId);
    assert.equal(fixture.revoked.length, 1);
  });

  it('revokes the leases of a token', async () => {
    const fixture = await fixtureWith();
    const mine = await createLeases(fixture, 3, { tokenId: 'token-b' });
    const theirs = await createLeases(fixture, 1, { tokenId: 'token-c' });
    await fixture.manager.registerToken({ tokenId: 'token-b', creationPath: 'auth/token/create', expireTime: fixture.clock.now + 60_000 });

    await fixture.manager.revokeByToken('token-b');
    assert.deepEqual([...fixture.revoked].sort(), mine.map((grant) => grant.leaseId).sort());
    assert.ok(await fixture.manager.lookup(theirs[0].leaseId));
    assert.equal(await fixture.manager.lookup('auth/token/create/token-b'), null);
    assert.deepEqual(fixture.revokedTokens, []);
  });

  it('revokes an exact ID as a prefix', async () => {
    const fixture = await fixtureWith();
    const [first, second] = await createLeases(fixture, 2);
    await fixture.manager.revokePrefix(first.leaseId, { force: false });
    assert.deepEqual(fixture.revoked, [first.leaseId]);
    assert.ok(await fixture.manager.lookup(second.leaseId));
  });

  it('does not revoke a sibling prefix', async () => {
    const fixture = await fixtureWith();
    const [reader] = await createLeases(fixture, 1, { requestPath: 'test/creds/reader' });
    const [readers] = await createLeases(fixture, 1, { requestPath: 'test/creds/readers' });
    await fixture.manager.revokePrefix('test/creds/reader', { force: false });
    assert.deepEqual(fixture.revoked, [reader.leaseId]);
    assert.ok(await fixture.manager.lookup(readers.leaseId));
  });

  it('rejects an empty prefix', async () => {
    const fixture = await fixtureWith();
    await assert.rejects(fixture.manager.revokePrefix('/', { force: false }), BadRequestError);
  });

  it('revoke-prefix keeps the event loop turning', async () => {
    const fixture = await fixtureWith({ physical: SqlitePhysical.open(':memory:'), tuning: { pageSize: 500 } });
    const count = 20_000;
    await seedLeases(fixture, count, { ttl: 3600, batchSize: 2000 });
    await seedLeases(fixture, 10, { ttl: 3600, requestPath: 'test/creds/writer' });

    // Each turn of this loop needs the event loop (setImmediate) and a storage read.
    let turns = 0;
    let running = true;
    const loop = (async () => {
      while (running) {
        await new Promise((resolve) => setImmediate(resolve));
        await fixture.storage.get('probe');
        turns++;
      }
    })();

    const before = turns;
    await fixture.manager.revokePrefix('test/creds/reader/', { force: false });
    const during = turns - before;
    running = false;
    await loop;

    assert.equal(fixture.revoked.length, count);
    assert.deepEqual(await fixture.manager.list('test/creds/', {}), ['writer/']);
    const batches = count / 500;
    assert.ok(during >= batches / 2, `the loop turned ${during} times during ${batches} batches`);
  });

  it('register and revoke-prefix share commits', async () => {
    const physical = new CountingPhysical(SqlitePhysical.open(':memory:'));
    const fixture = await fixtureWith({ physical, tuning: { revokeConcurrency: 8 } });
    const count = 400;

    const beforeRegister = physical.transactions;
    const grants = await createLeases(fixture, count, { concurrency: 50 });
    const registerCommits = physical.transactions - beforeRegister;
    assert.equal(grants.length, count);
    assert.ok(registerCommits <= count / 25, `${registerCommits} commits for ${count} registrations`);

    const beforeRevoke = physical.transactions;
    await fixture.manager.revokePrefix('test/creds/reader/', { force: false });
    const revokeCommits = physical.transactions - beforeRevoke;
    assert.equal(fixture.revoked.length, count);
    assert.deepEqual(await fixture.manager.list('test/creds/', {}), []);
    assert.ok(revokeCommits <= count / 4, `${revokeCommits} commits for ${count} revocations`);
  });
});

/** SQLite storage that counts the transactions applied to it. */
class CountingPhysical implements Physical {
  transactions = 0;
  constructor(private readonly inner: Physical) {}
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
    this.transactions++;
    return this.inner.transaction(ops);
  }
  close() {
    return this.inner.close();
  }
}

describe('list, count and tidy', () => {
  it('lists lease IDs page by page', async () => {
    const fixture = await fixtureWith();
    const grants = await createLeases(fixture, 5);
    const ids = grants.map((grant) => grant.leaseId.split('/').pop() as string).sort();
    assert.deepEqual(await fixture.manager.list('', {}), ['test/']);
    assert.deepEqual(await fixture.manager.list('test/creds', {}), ['reader/']);
    assert.deepEqual(await fixture.manager.list('test/creds/reader/', { limit: 2 }), ids.slice(0, 2));
    assert.deepEqual(await fixture.manager.list('test/creds/reader/', { after: ids[1], limit: 10 }), ids.slice(2));
  });

  it('tidy removes stale index entries', async () => {
    const fixture = await fixtureWith({ start: false });
    const [kept, orphaned] = await createLeases(fixture, 2, { tokenId: 'token-b' });
    const [dangling] = await createLeases(fixture, 1, { tokenId: 'token-gone' });
    fixture.tokens.add('token-b');
    await fixture.storage.delete(`id/${orphaned.leaseId}`);

    await fixture.manager.tidy();
    assert.deepEqual(await fixture.storage.list('by-token/token-b/'), [encodeURIComponent(kept.leaseId)]);
    const buckets = await fixture.storage.list('expiry/');
    const entries = (await Promise.all(buckets.map((bucket) => fixture.storage.list(`expiry/${bucket}`)))).flat();
    assert.equal(entries.length, 1);
    assert.ok(entries[0].endsWith(encodeURIComponent(kept.leaseId)));
    assert.deepEqual(fixture.revoked, [dangling.leaseId]);
  });
});
