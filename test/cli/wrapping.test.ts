import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CliResult, type DevServer, type RunOptions, makeTempDir, runCli, startDevServer, cliRunners } from './helpers.js';

/** The five rows Vault's CLI prints for a wrapped response, in order. */
const WRAP_ROWS = [
  /^wrapping_token:\s+\S+$/m,
  /^wrapping_accessor:\s+\S+$/m,
  /^wrapping_token_ttl:\s+\S+$/m,
  /^wrapping_token_creation_time:\s+\S+$/m,
  /^wrapping_token_creation_path:\s+\S+$/m,
];

describe('coffer response wrapping and token types', () => {
  let server: DevServer;
  let home: string;

  const { run, ok } = cliRunners(() => ({ server, home }));

  /** Asserts the wrap table of Vault's CLI: the five rows, the TTL and the creation path. */
  const assertWrapTable = (stdout: string, ttl: string, creationPath: string): void => {
    assert.match(stdout, /^Key\s+Value\n---\s+-----\n/);
    for (const row of WRAP_ROWS) assert.match(stdout, row);
    assert.match(stdout, new RegExp(`^wrapping_token_ttl:\\s+${ttl}$`, 'm'));
    assert.match(stdout, new RegExp(`^wrapping_token_creation_path:\\s+${creationPath.replace(/\//g, '\\/')}$`, 'm'));
  };

  before(async () => {
    server = await startDevServer();
    home = makeTempDir();
    await ok(['kv', 'put', 'secret/wrapped', 'user=alice']);
  });

  after(async () => {
    await server?.stop();
  });

  describe('-wrap-ttl', () => {
    it('kv get prints the wrap table and no data', async () => {
      const result = await ok(['kv', 'get', '-wrap-ttl=5m', 'secret/wrapped']);
      assertWrapTable(result.stdout, '5m', 'secret/data/wrapped');
      assert.doesNotMatch(result.stdout, /alice/);
      assert.doesNotMatch(result.stdout, /Metadata/);
    });

    it('read prints the wrap table', async () => {
      const result = await ok(['read', '-wrap-ttl=90', 'secret/data/wrapped']);
      assertWrapTable(result.stdout, '1m30s', 'secret/data/wrapped');
    });

    it('write prints the wrap table', async () => {
      const result = await ok(['write', '-wrap-ttl=2m', 'sys/wrapping/wrap', 'handover=value-1']);
      assertWrapTable(result.stdout, '2m', 'sys/wrapping/wrap');
      const token = (await ok(['write', '-wrap-ttl=2m', '-field=wrapping_token', 'sys/wrapping/wrap', 'handover=value-2'])).stdout.trim();
      assert.equal((await ok(['unwrap', '-field=handover', token])).stdout, 'value-2\n');
    });

    it('token create wraps the new token', async () => {
      const result = await ok(['token', 'create', '-wrap-ttl=1m', '-policy=default']);
      assertWrapTable(result.stdout, '1m', 'auth/token/create');
      assert.match(result.stdout, /^wrapped_accessor:\s+\S+$/m);
      assert.doesNotMatch(result.stdout, /^token\s/m);
    });

    it('secrets list prints the wrap table', async () => {
      const result = await ok(['secrets', 'list', '-wrap-ttl=1m']);
      assertWrapTable(result.stdout, '1m', 'sys/mounts');
      assert.doesNotMatch(result.stdout, /^Path\s+Type/m);
    });

    it('-field of a missing wrap field fails', async () => {
      const result = await run(['kv', 'get', '-wrap-ttl=1m', '-field=user', 'secret/wrapped']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /Field "user" not present in secret/);
    });

    it('-format=json keeps wrap_info and drops the data', async () => {
      const body = JSON.parse((await ok(['kv', 'get', '-wrap-ttl=5m', '-format=json', 'secret/wrapped'])).stdout);
      assert.equal(body.data, null);
      assert.equal(typeof body.wrap_info.token, 'string');
      assert.equal(body.wrap_info.ttl, 300);
      assert.equal(body.wrap_info.creation_path, 'secret/data/wrapped');
    });

    it('rejects a malformed TTL before sending', async () => {
      const result = await run(['kv', 'get', '-wrap-ttl=10x', 'secret/wrapped']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /invalid -wrap-ttl: "10x"/);
    });

    it('rejects a negative TTL before sending', async () => {
      const result = await run(['read', '-wrap-ttl=-1s', 'secret/data/wrapped']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /invalid -wrap-ttl/);
    });

    it('kv patch -method=rw wraps only the write', async () => {
      await ok(['kv', 'put', 'secret/patched', 'a=1']);
      const result = await ok(['kv', 'patch', '-method=rw', '-wrap-ttl=1m', 'secret/patched', 'b=2']);
      assertWrapTable(result.stdout, '1m', 'secret/data/patched');
      const body = JSON.parse((await ok(['kv', 'get', '-format=json', 'secret/patched'])).stdout);
      assert.deepEqual(body.data.data, { a: '1', b: '2' });
    });
  });

  describe('unwrap', () => {
    const wrapSecret = async (): Promise<string> =>
      (await ok(['kv', 'get', '-wrap-ttl=5m', '-field=wrapping_token', 'secret/wrapped'])).stdout.trim();

    it('unwraps a token given as argument', async () => {
      const token = await wrapSecret();
      const result = await ok(['unwrap', '-format=json', token]);
      assert.equal(JSON.parse(result.stdout).data.data.user, 'alice');
    });

    it('unwraps the client token', async () => {
      const token = await wrapSecret();
      const result = await ok(['unwrap'], { env: { COFFER_TOKEN: token } });
      assert.match(result.stdout, /^data\s+map\[user:alice\]$/m);
    });

    it('unwraps with no client token at all', async () => {
      const token = await wrapSecret();
      const result = await ok(['unwrap', '-format=json', token], { env: { COFFER_TOKEN: undefined }, homeDir: makeTempDir() });
      assert.equal(JSON.parse(result.stdout).data.data.user, 'alice');
    });

    it('fails the second time', async () => {
      const token = await wrapSecret();
      await ok(['unwrap', token]);
      const second = await run(['unwrap', token]);
      assert.equal(second.code, 1);
      assert.match(second.stderr, /^Error unwrapping token: .*\(400\)/);
    });

    it('fails for a token that never existed', async () => {
      const result = await run(['unwrap', 'hvs.not-a-wrapping-token']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^Error unwrapping token: .*\(400\)/);
    });

    it('needs a token from somewhere', async () => {
      const result = await run(['unwrap'], { env: { COFFER_TOKEN: undefined }, homeDir: makeTempDir() });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /No wrapping token: pass it as an argument or set COFFER_TOKEN/);
    });

    it('a wrapped token works once unwrapped', async () => {
      const wrapping = (await ok(['token', 'create', '-wrap-ttl=1m', '-policy=default', '-field=wrapping_token'])).stdout.trim();
      const unwrapped = await ok(['unwrap', wrapping]);
      assert.match(unwrapped.stdout, /^token_policies\s+\["default"\]$/m);
      const token = /^token\s+(\S+)$/m.exec(unwrapped.stdout)?.[1] ?? '';
      const self = await ok(['token', 'lookup', '-field=policies', '-format=json'], { env: { COFFER_TOKEN: token } });
      assert.deepEqual(JSON.parse(self.stdout), ['default']);
    });
  });

  describe('token roles and batch tokens', () => {
    before(async () => {
      await ok(['write', 'auth/token/roles/batch-ci', 'allowed_policies=default', 'token_type=batch']);
      await ok(['write', 'auth/token/roles/service-ci', 'allowed_policies=default', 'token_type=service']);
      await ok(['write', 'auth/token/roles/any-type', 'allowed_policies=default', 'token_type=default-service']);
    });

    it('create -role issues a batch token', async () => {
      const result = await ok(['token', 'create', '-role=batch-ci']);
      assert.match(result.stdout, /^token_accessor\s+n\/a$/m);
      assert.match(result.stdout, /^token_renewable\s+false$/m);
      assert.match(result.stdout, /^token_policies\s+\["default"\]$/m);
    });

    it('create -role -type=batch on a default-service role', async () => {
      const body = JSON.parse((await ok(['token', 'create', '-role=any-type', '-type=batch', '-format=json'])).stdout);
      assert.equal(body.auth.token_type, 'batch');
      assert.equal(body.auth.renewable, false);
    });

    it('create -role -type=service', async () => {
      const body = JSON.parse((await ok(['token', 'create', '-role=service-ci', '-type=service', '-format=json'])).stdout);
      assert.equal(body.auth.token_type, 'service');
      assert.notEqual(body.auth.accessor, '');
    });

    it('create -type=batch without a role', async () => {
      const body = JSON.parse((await ok(['token', 'create', '-type=batch', '-policy=default', '-ttl=20m', '-format=json'])).stdout);
      assert.equal(body.auth.token_type, 'batch');
      assert.equal(body.auth.lease_duration, 1200);
    });

    it('lookup of a batch token by argument and as self', async () => {
      const token = (await ok(['token', 'create', '-role=batch-ci', '-field=token'])).stdout.trim();
      const lookup = await ok(['token', 'lookup', token]);
      assert.match(lookup.stdout, /^type\s+batch$/m);
      assert.match(lookup.stdout, /^renewable\s+false$/m);
      assert.match(lookup.stdout, /^policies\s+\[default\]$/m);
      assert.match(lookup.stdout, /^ttl\s+\d+h/m);
      const self = JSON.parse((await ok(['token', 'lookup', '-format=json'], { env: { COFFER_TOKEN: token } })).stdout);
      assert.equal(self.data.type, 'batch');
      assert.equal(self.data.id, token);
    });

    it('a batch token cannot be renewed', async () => {
      const token = (await ok(['token', 'create', '-role=batch-ci', '-field=token'])).stdout.trim();
      const result = await run(['token', 'renew', token]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^Error renewing token: .*\(400\)/);
    });

    it('a batch token cannot create children', async () => {
      const policy = join(makeTempDir(), 'creator.hcl');
      writeFileSync(policy, 'path "auth/token/create" {\n  capabilities = ["update"]\n}\n');
      await ok(['policy', 'write', 'creator', policy]);
      const token = (await ok(['token', 'create', '-type=batch', '-policy=creator', '-field=token'])).stdout.trim();
      const result = await run(['token', 'create', '-policy=creator'], { env: { COFFER_TOKEN: token } });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^Error creating token: .*batch.*\(400\)/);
    });

    it('a batch token cannot carry the root policy', async () => {
      const result = await run(['token', 'create', '-type=batch']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^Error creating token: .*root.*\(400\)/);
    });

    it('create -role of an unknown role fails', async () => {
      const result = await run(['token', 'create', '-role=no-such-role', '-type=batch']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^Error creating token: unknown role "no-such-role" \(400\)/);
    });

    it('create -role refuses a policy the role does not allow', async () => {
      const result = await run(['token', 'create', '-role=batch-ci', '-policy=creator']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^Error creating token: .*\(400\)/);
    });

    it('rejects an unknown -type', async () => {
      const result = await run(['token', 'create', '-type=default-batch']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /invalid -type "default-batch": use "service" or "batch"/);
    });

    it('rejects a role name with a slash', async () => {
      const result = await run(['token', 'create', '-role=a/b']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /invalid -role "a\/b"/);
    });
  });
});
