import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { type CliResult, type DevServer, type RunOptions, makeTempDir, runCli, startDevServer, cliRunners } from './helpers.js';

/**
 * Returns why a test of auth method TYPE must skip: the server rejected enabling it as an unknown
 * type, because that backend is not registered yet. Returns undefined when it was enabled.
 */
function unknownTypeReason(result: CliResult, type: string): string | undefined {
  if (result.code === 0) return undefined;
  if (/unknown auth method type/.test(result.stderr)) return `the server does not offer the ${type} auth method yet: ${result.stderr.trim()}`;
  throw new Error(`enabling ${type} failed: ${result.stderr}`);
}

describe('coffer auth and login methods', () => {
  let server: DevServer;
  let home: string;

  const { run, ok } = cliRunners(() => ({ server, home }));

  /** Runs a login with no client token and a fresh home directory, returned for checking the token file. */
  const login = async (argv: string[], options: RunOptions = {}): Promise<CliResult & { home: string }> => {
    const loginHome = makeTempDir();
    const result = await run(['login', ...argv], { ...options, homeDir: loginHome, env: { COFFER_TOKEN: undefined } });
    return { ...result, home: loginHome };
  };

  before(async () => {
    server = await startDevServer();
    home = makeTempDir();
  });

  after(async () => {
    await server?.stop();
  });

  describe('auth commands', () => {
    it('list shows the token method', async () => {
      const result = await ok(['auth', 'list']);
      assert.match(result.stdout, /^Path\s+Type\s+Accessor\s+Description\n/);
      assert.match(result.stdout, /^token\/\s+token\s+\S+\s+token based credentials$/m);
    });

    it('list -detailed adds TTLs and token type', async () => {
      const result = await ok(['auth', 'list', '-detailed']);
      assert.match(result.stdout, /^Path\s+Plugin\s+Accessor\s+Default TTL\s+Max TTL\s+Token Type\s+Replication\s+Seal Wrap\s+Options\s+Description\s+UUID\n/);
      assert.match(result.stdout, /^token\/\s+token\s+\S+\s+system\s+system\s+default-service\s+replicated\s+false\s+/m);
    });

    it('list -format=json', async () => {
      const mounts = JSON.parse((await ok(['auth', 'list', '-format=json'])).stdout);
      assert.equal(mounts['token/'].type, 'token');
    });

    it('tune changes TTLs and description', async () => {
      const tuned = await ok(['auth', 'tune', '-default-lease-ttl=48h', '-description=tokens here', 'token']);
      assert.equal(tuned.stdout, 'Success! Tuned the auth method at: token/\n');
      const settings = JSON.parse((await ok(['read', '-format=json', 'sys/auth/token/tune'])).stdout);
      assert.equal(settings.data.default_lease_ttl, 172800);
      assert.match((await ok(['auth', 'list'])).stdout, /^token\/\s+token\s+\S+\s+tokens here$/m);
      const detailed = await ok(['auth', 'list', '-detailed']);
      assert.match(detailed.stdout, /^token\/\s+token\s+\S+\s+48h\s+system\s+/m);
    });

    it('tune without flags is a usage error', async () => {
      const result = await run(['auth', 'tune', 'token']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /Nothing to tune/);
    });

    it('tune of a missing method fails', async () => {
      const result = await run(['auth', 'tune', '-max-lease-ttl=1h', 'nowhere']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^Error tuning auth method at auth\/nowhere\/: .*\(400\)/);
    });

    it('tune rejects a malformed TTL', async () => {
      const result = await run(['auth', 'tune', '-max-lease-ttl=10x', 'token']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /invalid -max-lease-ttl: "10x"/);
    });

    it('enable of an unknown type fails', async () => {
      const result = await run(['auth', 'enable', 'no-such-method']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^Error enabling no-such-method auth method at auth\/no-such-method\/: .*"no-such-method".*\(400\)/);
    });

    it('enable rejects -listing-visibility', async () => {
      const result = await run(['auth', 'enable', '-listing-visibility=unauth', 'userpass']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /-listing-visibility is not supported/);
    });

    it('enable rejects an unknown -token-type', async () => {
      const result = await run(['auth', 'enable', '-token-type=weird', 'userpass']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /invalid -token-type "weird"/);
    });

    it('enable needs a type', async () => {
      const result = await run(['auth', 'enable']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /Not enough arguments/);
    });
  });

  describe('login usage errors', () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['unknown method', ['-method=ldap', 'username=a'], /unknown -method "ldap": use token, userpass or approle/],
      ['missing username', ['-method=userpass', 'password=x'], /Missing username: pass username=NAME/],
      ['unknown userpass key', ['-method=userpass', 'username=a', 'pin=1'], /unknown key "pin" for -method=userpass/],
      ['missing role_id', ['-method=approle', 'secret_id=x'], /Missing role_id/],
      ['bad key=value', ['-method=approle', 'role_id'], /expected key=value/],
      ['-path with token', ['-path=x', 'root'], /-path applies only to/],
      ['-wrap-ttl with token', ['-wrap-ttl=1m', 'root'], /-wrap-ttl does not apply to -method=token/],
    ];
    for (const [name, argv, message] of cases) {
      it(`exits 2 on ${name}`, async () => {
        const result = await login(argv);
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, message);
        assert.equal(existsSync(join(result.home, '.coffer-token')), false);
      });
    }
  });

  describe('userpass', () => {
    let skipReason: string | undefined;
    const password = 'correct horse battery';

    before(async () => {
      const enabled = await run(['auth', 'enable', '-path=people', '-description=staff logins', 'userpass']);
      skipReason = unknownTypeReason(enabled, 'userpass');
      if (skipReason !== undefined) return;
      assert.equal(enabled.stdout, 'Success! Enabled userpass auth method at: people/\n');
      await ok(['write', 'auth/people/users/alice', `password=${password}`, 'token_policies=default']);
    });

    it('appears in auth list', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const result = await ok(['auth', 'list']);
      assert.match(result.stdout, /^people\/\s+userpass\s+\S+\s+staff logins$/m);
    });

    it('login stores a working token', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const result = await login(['-method=userpass', '-path=people', 'username=alice', `password=${password}`]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^Success! You are now authenticated\./);
      assert.match(result.stdout, /^token_policies\s+\["default"\]$/m);
      const file = join(result.home, '.coffer-token');
      const token = readFileSync(file, 'utf8');
      assert.match(result.stdout, new RegExp(`^token\\s+${token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const self = await ok(['token', 'lookup', '-format=json'], { env: { COFFER_TOKEN: undefined }, homeDir: result.home });
      assert.ok(JSON.parse(self.stdout).data.policies.includes('default'));
    });

    it('login reads the password from stdin', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const result = await login(['-method=userpass', '-path=people', 'username=alice'], { stdin: `${password}\n` });
      assert.equal(result.code, 0, result.stderr);
      assert.ok(existsSync(join(result.home, '.coffer-token')));
    });

    it('login reads password=- from stdin', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const result = await login(['-method=userpass', '-path=people', 'username=alice', 'password=-', '-token-only'], { stdin: password });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^\S+\n$/);
    });

    it('login prompts on a terminal without echo', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => stdin });
      let stdout = '';
      let stderr = '';
      const pending = main(['login', '-method=userpass', '-path=people', '-token-only', 'username=alice'], {
        stdout: { write: (text: string) => (stdout += text) },
        stderr: { write: (text: string) => (stderr += text) },
        stdin,
        env: { COFFER_ADDR: server.address },
        homeDir: makeTempDir(),
      });
      stdin.write(`${password}\r`);
      assert.equal(await pending, 0, stderr);
      assert.equal(stderr, 'Password (will be hidden): \n');
      assert.match(stdout, /^\S+\n$/);
      assert.doesNotMatch(stdout + stderr, /horse/);
    });

    it('-token-only prints the token and stores nothing', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const result = await login(['-method=userpass', '-path=people', '-token-only', 'username=alice', `password=${password}`]);
      assert.equal(result.code, 0, result.stderr);
      const token = result.stdout.trim();
      assert.equal(result.stdout, `${token}\n`);
      assert.equal(existsSync(join(result.home, '.coffer-token')), false);
      await ok(['token', 'lookup'], { env: { COFFER_TOKEN: token } });
    });

    it('-no-store prints the table and stores nothing', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const result = await login(['-method=userpass', '-path=people', '-no-store', 'username=alice', `password=${password}`]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /The token was not stored \(-no-store\)/);
      assert.match(result.stdout, /^token_accessor\s+\S+$/m);
      assert.equal(existsSync(join(result.home, '.coffer-token')), false);
    });

    it('-wrap-ttl wraps the login and stores nothing', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const result = await login(['-method=userpass', '-path=people', '-wrap-ttl=1m', 'username=alice', `password=${password}`]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^wrapping_token:\s+(\S+)$/m);
      assert.match(result.stdout, /^wrapping_token_creation_path:\s+auth\/people\/login\/alice$/m);
      assert.equal(existsSync(join(result.home, '.coffer-token')), false);
      const wrapping = /^wrapping_token:\s+(\S+)$/m.exec(result.stdout)?.[1] ?? '';
      const unwrapped = JSON.parse((await ok(['unwrap', '-format=json', wrapping])).stdout);
      assert.equal(typeof unwrapped.auth.client_token, 'string');
    });

    it('wrong password and unknown user fail alike', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const wrong = await login(['-method=userpass', '-path=people', 'username=alice', 'password=wrong']);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /^Error logging in with userpass at auth\/people: .*\((400|403)\)/);
      assert.equal(existsSync(join(wrong.home, '.coffer-token')), false);
      const unknown = await login(['-method=userpass', '-path=people', 'username=nobody', 'password=wrong']);
      assert.equal(unknown.code, 1);
      assert.equal(unknown.stderr, wrong.stderr);
    });

    it('tuned TTLs apply to logins', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      await ok(['auth', 'tune', '-default-lease-ttl=1h', '-max-lease-ttl=2h', 'people']);
      const result = await login(['-method=userpass', '-path=people', '-no-store', 'username=alice', `password=${password}`]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^token_duration\s+1h$/m);
    });

    it('disable revokes the tokens it issued', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const token = (await login(['-method=userpass', '-path=people', '-token-only', 'username=alice', `password=${password}`])).stdout.trim();
      await ok(['token', 'lookup'], { env: { COFFER_TOKEN: token } });
      const disabled = await ok(['auth', 'disable', 'people']);
      assert.equal(disabled.stdout, 'Success! Disabled the auth method (if it existed) at: people/\n');
      assert.doesNotMatch((await ok(['auth', 'list'])).stdout, /^people\//m);
      const lookup = await run(['token', 'lookup'], { env: { COFFER_TOKEN: token } });
      assert.equal(lookup.code, 1);
      assert.match(lookup.stderr, /\(403\)/);
    });

    it('login at a disabled path fails', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const result = await login(['-method=userpass', '-path=people', 'username=alice', `password=${password}`]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^Error logging in with userpass at auth\/people: /);
    });
  });

  describe('approle', () => {
    let skipReason: string | undefined;
    let roleId = '';

    before(async () => {
      const enabled = await run(['auth', 'enable', 'approle']);
      skipReason = unknownTypeReason(enabled, 'approle');
      if (skipReason !== undefined) return;
      await ok(['write', 'auth/approle/role/ci', 'token_policies=default', 'secret_id_ttl=10m']);
      roleId = (await ok(['read', '-field=role_id', 'auth/approle/role/ci/role-id'])).stdout.trim();
    });

    it('login with role_id and secret_id', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const secretId = (await ok(['write', '-f', '-field=secret_id', 'auth/approle/role/ci/secret-id'])).stdout.trim();
      const result = await login(['-method=approle', `role_id=${roleId}`, `secret_id=${secretId}`]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^token_policies\s+\["default"\]$/m);
      const token = readFileSync(join(result.home, '.coffer-token'), 'utf8');
      await ok(['token', 'lookup'], { env: { COFFER_TOKEN: token } });
    });

    it('login from a wrapped secret ID', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const wrapping = (await ok(['write', '-f', '-wrap-ttl=1m', '-field=wrapping_token', 'auth/approle/role/ci/secret-id'])).stdout.trim();
      const secretId = (await ok(['unwrap', '-field=secret_id', wrapping], { env: { COFFER_TOKEN: undefined } })).stdout.trim();
      const result = await login(['-method=approle', '-token-only', `role_id=${roleId}`, `secret_id=${secretId}`]);
      assert.equal(result.code, 0, result.stderr);
      await ok(['token', 'lookup'], { env: { COFFER_TOKEN: result.stdout.trim() } });
    });

    it('login with a secret_id from a file', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const secretId = (await ok(['write', '-f', '-field=secret_id', 'auth/approle/role/ci/secret-id'])).stdout.trim();
      const file = join(makeTempDir(), 'secret-id');
      writeFileSync(file, secretId);
      const result = await login(['-method=approle', '-token-only', `role_id=${roleId}`, `secret_id=@${file}`]);
      assert.equal(result.code, 0, result.stderr);
    });

    it('login with a wrong secret_id fails', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const result = await login(['-method=approle', `role_id=${roleId}`, 'secret_id=00000000-0000-0000-0000-000000000000']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^Error logging in with approle at auth\/approle: .*\((400|403)\)/);
      assert.equal(existsSync(join(result.home, '.coffer-token')), false);
    });

    it('login at a wrong -path fails', async (t) => {
      if (skipReason !== undefined) return t.skip(skipReason);
      const result = await login(['-method=approle', '-path=elsewhere', `role_id=${roleId}`, 'secret_id=x']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^Error logging in with approle at auth\/elsewhere: /);
    });
  });
});
