import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type CliResult, type DevServer, type RunOptions, makeTempDir, runCli, startDevServer, cliRunners } from './helpers.js';

/** Prefix of the leases of tokens made by `auth/token/create`. */
const TOKEN_LEASES = 'auth/token/create/';

describe('coffer lease', () => {
  let server: DevServer;
  let home: string;
  let skipReason: string | undefined;

  const { run, ok } = cliRunners(() => ({ server, home }));

  /** Lists the lease IDs under the token-creation prefix. `list` exits 2 when there are none. */
  const tokenLeaseIds = async (): Promise<string[]> => {
    const result = await run(['list', '-format=json', `sys/leases/lookup/${TOKEN_LEASES}`]);
    if (result.code === 2) return [];
    assert.equal(result.code, 0, result.stderr);
    return (JSON.parse(result.stdout) as string[]).map((key) => `${TOKEN_LEASES}${key}`);
  };

  /** Creates a token with a 1h TTL and returns it with the ID of its lease. */
  const createLeasedToken = async (): Promise<{ token: string; leaseId: string }> => {
    const before = new Set(await tokenLeaseIds());
    const token = (await ok(['token', 'create', '-policy=default', '-ttl=1h', '-field=token'])).stdout.trim();
    const added = (await tokenLeaseIds()).filter((id) => !before.has(id));
    assert.equal(added.length, 1, `expected one new lease under ${TOKEN_LEASES}, found ${added.length}`);
    return { token, leaseId: added[0] };
  };

  before(async () => {
    server = await startDevServer();
    home = makeTempDir();
    const probe = await run(['lease', 'lookup', 'probe/no-such-lease']);
    if (/\(404\)/.test(probe.stderr)) skipReason = `the server does not serve sys/leases/lookup yet: ${probe.stderr.trim()}`;
  });

  after(async () => {
    await server?.stop();
  });

  describe('usage errors', () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['-force without -prefix', ['lease', 'revoke', '-force', 'a/b'], /-force needs -prefix/],
      ['-f without -prefix', ['lease', 'revoke', '-f', 'a/b'], /-force needs -prefix/],
      ['lookup without an ID', ['lease', 'lookup'], /Not enough arguments/],
      ['renew with two IDs', ['lease', 'renew', 'a', 'b'], /Too many arguments/],
      ['malformed -increment', ['lease', 'renew', '-increment=10x', 'a/b'], /invalid -increment: "10x"/],
      ['negative -increment', ['lease', 'renew', '-increment=-1s', 'a/b'], /invalid -increment/],
    ];
    for (const [name, argv, message] of cases) {
      it(`exits 2 on ${name}`, async () => {
        const result = await run(argv);
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, message);
      });
    }
  });

  describe('against the server', () => {
    it('lookup shows the lease of a token', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const { leaseId } = await createLeasedToken();
      const result = await ok(['lease', 'lookup', leaseId]);
      assert.match(result.stdout, new RegExp(`^id\\s+${leaseId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
      assert.match(result.stdout, /^renewable\s+true$/m);
      assert.match(result.stdout, /^ttl\s+(59m\d+s|1h)$/m);
      assert.match(result.stdout, /^issue_time\s+\S+$/m);
      assert.match(result.stdout, /^expire_time\s+\S+$/m);
      const body = JSON.parse((await ok(['lease', 'lookup', '-format=json', leaseId])).stdout);
      assert.equal(body.data.id, leaseId);
      assert.ok(body.data.ttl > 3500, `ttl ${body.data.ttl} is too short`);
      assert.ok(body.data.ttl <= 3600, `ttl ${body.data.ttl} is longer than requested`);
    });

    it('lookup of an unknown lease fails', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const result = await run(['lease', 'lookup', 'probe/no-such-lease']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^Error looking up lease probe\/no-such-lease: .*\(400\)/);
    });

    // Only the database engine issues renewable secret leases, and it needs an outside database.
    // PKI leases are not renewable, and token leases are renewed through auth/token/renew, as in Vault.
    it('renew of a token lease is refused', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const { leaseId } = await createLeasedToken();
      const result = await run(['lease', 'renew', '-increment=30m', leaseId]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^Error renewing lease auth\/token\/create\/\S+: .*auth\/token\/renew \(400\)/);
    });

    it('renew of an unknown lease fails', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const result = await run(['lease', 'renew', 'probe/no-such-lease']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^Error renewing lease probe\/no-such-lease: .*\(400\)/);
    });

    it('revoke -sync revokes the token', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const { token, leaseId } = await createLeasedToken();
      const result = await ok(['lease', 'revoke', '-sync', leaseId]);
      assert.equal(result.stdout, `Success! Revoked lease: ${leaseId}\n`);
      const lookup = await run(['token', 'lookup'], { env: { COFFER_TOKEN: token } });
      assert.equal(lookup.code, 1);
      const lease = await run(['lease', 'lookup', leaseId]);
      assert.equal(lease.code, 1);
    });

    it('revoke without -sync queues', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const { leaseId } = await createLeasedToken();
      const result = await ok(['lease', 'revoke', leaseId]);
      assert.equal(result.stdout, 'All revocation operations queued successfully!\n');
    });

    it('revoke -prefix -sync revokes every lease under it', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const first = await createLeasedToken();
      const second = await createLeasedToken();
      const result = await ok(['lease', 'revoke', '-prefix', '-sync', TOKEN_LEASES]);
      assert.equal(result.stdout, `Success! Revoked any leases with prefix: ${TOKEN_LEASES}\n`);
      for (const { token } of [first, second]) {
        const lookup = await run(['token', 'lookup'], { env: { COFFER_TOKEN: token } });
        assert.equal(lookup.code, 1);
      }
      assert.deepEqual(await tokenLeaseIds(), []);
    });

    it('revoke -force -prefix removes the lease', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const { leaseId } = await createLeasedToken();
      const result = await ok(['lease', 'revoke', '-force', '-prefix', leaseId]);
      assert.equal(result.stdout, `Success! Force revoked any leases with prefix: ${leaseId}\n`);
      assert.match(result.stderr, /^WARNING! Force-removing leases/);
      const lease = await run(['lease', 'lookup', leaseId]);
      assert.equal(lease.code, 1);
    });

    it('revoke -force needs sudo', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const token = (await ok(['token', 'create', '-policy=default', '-field=token'])).stdout.trim();
      const result = await run(['lease', 'revoke', '-force', '-prefix', TOKEN_LEASES], { env: { COFFER_TOKEN: token } });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /\(403\)/);
    });
  });
});
