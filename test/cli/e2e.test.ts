import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CliResult, type DevServer, type RunOptions, makeTempDir, runCli, startDevServer, cliRunners } from './helpers.js';

const serverMissing = existsSync(new URL('../../src/server.ts', import.meta.url)) ? false : 'server not available yet';

describe('coffer against a dev server', { skip: serverMissing }, () => {
  let server: DevServer;
  let home: string;

  const { run, ok } = cliRunners(() => ({ server, home }));

  before(async () => {
    server = await startDevServer();
    home = makeTempDir();
  });

  after(async () => {
    await server?.stop();
  });

  it('status reports unsealed', async () => {
    const result = await ok(['status']);
    assert.match(result.stdout, /^Key\s+Value\n---\s+-----\n/);
    assert.match(result.stdout, /Sealed\s+false/);
    assert.match(result.stdout, /Initialized\s+true/);
  });

  it('status prints JSON', async () => {
    const status = JSON.parse((await ok(['status', '-format=json'])).stdout);
    assert.equal(status.sealed, false);
    assert.equal(typeof status.t, 'number');
  });

  describe('kv on the v2 mount', () => {
    it('put then get shows metadata and data', async () => {
      const put = await ok(['kv', 'put', 'secret/app', 'user=alice', 'pass=s3cret']);
      assert.match(put.stdout, /=+ Metadata =+/);
      assert.match(put.stdout, /version\s+1/);

      const get = await ok(['kv', 'get', 'secret/app']);
      assert.match(get.stdout, /=+ Metadata =+\nKey\s+Value\n/);
      assert.match(get.stdout, /deletion_time\s+n\/a/);
      assert.match(get.stdout, /=+ Data =+\nKey\s+Value\n---\s+-----\npass\s+s3cret\nuser\s+alice\n$/);
    });

    it('get with -mount prints the secret path', async () => {
      const get = await ok(['kv', 'get', '-mount=secret', 'app']);
      assert.match(get.stdout, /^=+ Secret Path =+\nsecret\/data\/app\n\n/);
    });

    it('get -field prints one raw value', async () => {
      const get = await ok(['kv', 'get', '-field=user', 'secret/app']);
      assert.equal(get.stdout, 'alice\n');
    });

    it('get accepts flags after the path', async () => {
      const get = await ok(['kv', 'get', 'secret/app', '-field=pass']);
      assert.equal(get.stdout, 's3cret\n');
    });

    it('get -format=json prints the whole body', async () => {
      const body = JSON.parse((await ok(['kv', 'get', '-format=json', 'secret/app'])).stdout);
      assert.equal(body.data.data.user, 'alice');
      assert.equal(body.data.metadata.version, 1);
      assert.equal(typeof body.request_id, 'string');
    });

    it('get of a missing key exits 2', async () => {
      const result = await run(['kv', 'get', 'secret/missing']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /No value found at secret\/data\/missing/);
    });

    it('get -field of a missing field exits 1', async () => {
      const result = await run(['kv', 'get', '-field=nope', 'secret/app']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /Field "nope" not present in secret/);
    });

    it('put with a wrong -cas fails', async () => {
      const result = await run(['kv', 'put', '-cas=7', 'secret/app', 'user=bob']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^Error writing data to secret\/data\/app: .*\(400\)/);
    });

    it('put reads values from a file and stdin', async () => {
      const file = join(makeTempDir(), 'cert.pem');
      writeFileSync(file, 'CERT-TEXT');
      await ok(['kv', 'put', 'secret/files', `cert=@${file}`, 'key=-'], { stdin: 'KEY-TEXT' });
      assert.equal((await ok(['kv', 'get', '-field=cert', 'secret/files'])).stdout, 'CERT-TEXT\n');
      assert.equal((await ok(['kv', 'get', '-field=key', 'secret/files'])).stdout, 'KEY-TEXT\n');
    });

    it('patch keeps other keys', async () => {
      await ok(['kv', 'patch', 'secret/app', 'user=bob']);
      const body = JSON.parse((await ok(['kv', 'get', '-format=json', 'secret/app'])).stdout);
      assert.deepEqual(body.data.data, { user: 'bob', pass: 's3cret' });
      assert.equal(body.data.metadata.version, 2);
    });

    it('patch by read-modify-write keeps other keys', async () => {
      await ok(['kv', 'patch', '-method=rw', 'secret/app', 'pass=new']);
      const body = JSON.parse((await ok(['kv', 'get', '-format=json', 'secret/app'])).stdout);
      assert.deepEqual(body.data.data, { user: 'bob', pass: 'new' });
    });

    it('get -version reads an older version', async () => {
      const get = await ok(['kv', 'get', '-version=1', '-field=user', 'secret/app']);
      assert.equal(get.stdout, 'alice\n');
    });

    it('list shows keys', async () => {
      await ok(['kv', 'put', 'secret/team/one', 'a=1']);
      const list = await ok(['kv', 'list', 'secret/']);
      assert.match(list.stdout, /^Keys\n----\n/);
      assert.match(list.stdout, /^app$/m);
      assert.match(list.stdout, /^team\/$/m);
    });

    it('list of an empty path exits 2', async () => {
      const result = await run(['kv', 'list', 'secret/nothing-here']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /No value found at secret\/metadata\/nothing-here/);
    });

    it('delete, undelete and destroy versions', async () => {
      const deleted = await ok(['kv', 'delete', 'secret/app']);
      assert.match(deleted.stdout, /Success! Data deleted \(if it existed\) at: secret\/data\/app/);
      const afterDelete = await run(['kv', 'get', 'secret/app']);
      assert.equal(afterDelete.code, 2);

      const undeleted = await ok(['kv', 'undelete', '-versions=3', 'secret/app']);
      assert.match(undeleted.stdout, /Success! Data written to: secret\/undelete\/app/);
      assert.equal((await ok(['kv', 'get', '-field=pass', 'secret/app'])).stdout, 'new\n');

      await ok(['kv', 'destroy', '-versions=1', 'secret/app']);
      const destroyed = await run(['kv', 'get', '-version=1', 'secret/app']);
      assert.equal(destroyed.code, 2);
    });

    it('metadata put and get', async () => {
      const put = await ok(['kv', 'metadata', 'put', '-max-versions=5', '-custom-metadata=owner=ops', 'secret/app']);
      assert.match(put.stdout, /Success! Data written to: secret\/metadata\/app/);
      const get = await ok(['kv', 'metadata', 'get', 'secret/app']);
      assert.match(get.stdout, /max_versions\s+5/);
      assert.match(get.stdout, /custom_metadata\s+map\[owner:ops\]/);
      assert.match(get.stdout, /=+ Version 1 =+/);
      assert.match(get.stdout, /destroyed\s+true/);
    });

    it('metadata delete removes every version', async () => {
      await ok(['kv', 'metadata', 'delete', '-mount=secret', 'team/one']);
      const result = await run(['kv', 'get', 'secret/team/one']);
      assert.equal(result.code, 2);
    });
  });

  describe('secrets engines and kv v1', () => {
    it('enable, list, tune and use a v1 mount', async () => {
      const enabled = await ok(['secrets', 'enable', '-path=kv1', '-description=old style', 'kv']);
      assert.match(enabled.stdout, /Success! Enabled the kv secrets engine at: kv1\//);

      const list = await ok(['secrets', 'list']);
      assert.match(list.stdout, /^Path\s+Type\s+Accessor\s+Description\n/);
      assert.match(list.stdout, /^kv1\/\s+kv\s+\S+\s+old style$/m);

      const detailed = await ok(['secrets', 'list', '-detailed']);
      assert.match(detailed.stdout, /Default TTL/);

      const tuned = await ok(['secrets', 'tune', '-default-lease-ttl=1h', '-max-lease-ttl=2h', 'kv1']);
      assert.match(tuned.stdout, /Success! Tuned the secrets engine at: kv1\//);

      await ok(['kv', 'put', 'kv1/plain', 'a=b']);
      const get = await ok(['kv', 'get', 'kv1/plain']);
      assert.match(get.stdout, /=+ Data =+/);
      assert.doesNotMatch(get.stdout, /Metadata/);
      assert.match(get.stdout, /^a\s+b$/m);
    });

    it('v2-only commands fail on v1', async () => {
      const result = await run(['kv', 'undelete', '-versions=1', 'kv1/plain']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /Undelete not supported on KV Version 1/);
    });

    it('generic write, read, list and delete', async () => {
      const written = await ok(['write', 'kv1/generic', 'x=1']);
      assert.match(written.stdout, /Success! Data written to: kv1\/generic/);
      const read = await ok(['read', 'kv1/generic']);
      assert.match(read.stdout, /^x\s+1$/m);
      assert.equal((await ok(['read', '-field=x', 'kv1/generic'])).stdout, '1\n');
      const list = await ok(['list', 'kv1']);
      assert.match(list.stdout, /^generic$/m);
      const deleted = await ok(['delete', 'kv1/generic']);
      assert.match(deleted.stdout, /Success! Data deleted \(if it existed\) at: kv1\/generic/);
      const missing = await run(['read', 'kv1/generic']);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /No value found at kv1\/generic/);
    });

    it('enable kv-v2 type mounts version 2', async () => {
      await ok(['secrets', 'enable', '-path=kv2b', 'kv-v2']);
      await ok(['kv', 'put', 'kv2b/x', 'a=1']);
      assert.match((await ok(['kv', 'get', 'kv2b/x'])).stdout, /Metadata/);
    });

    it('disable removes the mount', async () => {
      const disabled = await ok(['secrets', 'disable', 'kv1']);
      assert.match(disabled.stdout, /Success! Disabled the secrets engine \(if it existed\) at: kv1\//);
      assert.doesNotMatch((await ok(['secrets', 'list'])).stdout, /^kv1\//m);
    });
  });

  describe('policies and tokens', () => {
    const policyText = 'path "secret/data/shared/*" {\n  capabilities = ["read"]\n}\n';
    let limitedToken = '';

    it('policy write, read and list', async () => {
      const file = join(makeTempDir(), 'reader.hcl');
      writeFileSync(file, policyText);
      const written = await ok(['policy', 'write', 'reader', file]);
      assert.match(written.stdout, /Success! Uploaded policy: reader/);
      await ok(['policy', 'write', 'from-stdin', '-'], { stdin: policyText });

      assert.equal((await ok(['policy', 'read', 'reader'])).stdout, policyText);
      const list = await ok(['policy', 'list']);
      assert.match(list.stdout, /^reader$/m);
      assert.match(list.stdout, /^from-stdin$/m);
    });

    it('policy read of a missing policy exits 2', async () => {
      const result = await run(['policy', 'read', 'nope']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /No policy named: nope/);
    });

    it('policy delete', async () => {
      const deleted = await ok(['policy', 'delete', 'from-stdin']);
      assert.match(deleted.stdout, /Success! Deleted policy: from-stdin/);
      assert.doesNotMatch((await ok(['policy', 'list'])).stdout, /from-stdin/);
    });

    it('token create prints the auth table', async () => {
      const created = await ok(['token', 'create', '-policy=reader', '-ttl=1h', '-metadata=team=ops', '-display-name=ci']);
      assert.match(created.stdout, /^token\s+\S+$/m);
      assert.match(created.stdout, /token_duration\s+1h/);
      assert.match(created.stdout, /token_policies\s+\["default" "reader"\]/);
      assert.match(created.stdout, /token_meta_team\s+ops/);
    });

    it('token create -field=token prints the token only', async () => {
      const created = await ok(['token', 'create', '-policy=reader', '-field=token', '-orphan']);
      limitedToken = created.stdout.trim();
      assert.match(created.stdout, /^\S+\n$/);
    });

    it('token lookup shows the token properties', async () => {
      const lookup = await ok(['token', 'lookup', limitedToken]);
      assert.match(lookup.stdout, /policies\s+\[default reader\]/);
      const self = await ok(['token', 'lookup', '-format=json'], { env: { COFFER_TOKEN: limitedToken } });
      assert.deepEqual(JSON.parse(self.stdout).data.policies, ['default', 'reader']);
    });

    it('token lookup by accessor', async () => {
      const accessor = (await ok(['token', 'lookup', '-field=accessor', limitedToken])).stdout.trim();
      const lookup = await ok(['token', 'lookup', '-accessor', accessor]);
      assert.match(lookup.stdout, /policies\s+\[default reader\]/);
    });

    it('token capabilities', async () => {
      const caps = await ok(['token', 'capabilities', limitedToken, 'secret/data/shared/x']);
      assert.equal(caps.stdout, 'read\n');
      const denied = await ok(['token', 'capabilities', limitedToken, 'secret/data/other']);
      assert.equal(denied.stdout, 'deny\n');
      const root = await ok(['token', 'capabilities', 'secret/data/other']);
      assert.equal(root.stdout, 'root\n');
    });

    it('a denied read names the path and status', async () => {
      const result = await run(['kv', 'get', 'secret/other'], { env: { COFFER_TOKEN: limitedToken } });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /permission denied \(403\)/);
    });

    it('a request without a token suggests login', async () => {
      const result = await run(['read', 'secret/data/app'], { env: { COFFER_TOKEN: undefined }, homeDir: makeTempDir() });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^Error reading secret\/data\/app: .*\(403\)\. No token is set: run "coffer login"/);
    });

    it('token renew', async () => {
      const renewed = await ok(['token', 'renew', '-increment=30m', limitedToken]);
      assert.match(renewed.stdout, /^token\s+/m);
      assert.match(renewed.stdout, /token_renewable\s+true/);
    });

    it('token revoke then lookup fails', async () => {
      const revoked = await ok(['token', 'revoke', limitedToken]);
      assert.match(revoked.stdout, /Success! Revoked token \(if it existed\)/);
      const lookup = await run(['token', 'lookup', '-format=json'], { env: { COFFER_TOKEN: limitedToken } });
      assert.equal(lookup.code, 1);
      assert.match(lookup.stderr, /^Error looking up token: .*\(403\)/);
    });

    it('token revoke -self', async () => {
      const token = (await ok(['token', 'create', '-field=token'])).stdout.trim();
      await ok(['token', 'revoke', '-self'], { env: { COFFER_TOKEN: token } });
      const lookup = await run(['token', 'lookup'], { env: { COFFER_TOKEN: token } });
      assert.equal(lookup.code, 1);
    });
  });

  describe('login', () => {
    it('stores a valid token with mode 0600 and uses it', async () => {
      const loginHome = makeTempDir();
      const token = (await ok(['token', 'create', '-policy=reader', '-field=token'])).stdout.trim();
      const env = { COFFER_TOKEN: undefined };
      const login = await ok(['login', token], { env, homeDir: loginHome });
      assert.match(login.stdout, /Success! You are now authenticated/);
      assert.match(login.stdout, /token_policies\s+\["default" "reader"\]/);

      const file = join(loginHome, '.coffer-token');
      assert.equal(readFileSync(file, 'utf8'), token);
      assert.equal(statSync(file).mode & 0o777, 0o600);

      const self = await ok(['token', 'lookup', '-field=id'], { env, homeDir: loginHome });
      assert.equal(self.stdout.trim(), token);
    });

    it('reads the token from stdin', async () => {
      const loginHome = makeTempDir();
      await ok(['login', '-'], { env: { COFFER_TOKEN: undefined }, homeDir: loginHome, stdin: `${server.rootToken}\n` });
      assert.equal(readFileSync(join(loginHome, '.coffer-token'), 'utf8'), server.rootToken);
    });

    it('rejects an invalid token and stores nothing', async () => {
      const loginHome = makeTempDir();
      const result = await run(['login', 'not-a-token'], { env: { COFFER_TOKEN: undefined }, homeDir: loginHome });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^Error authenticating: .*\(403\)/);
      assert.equal(existsSync(join(loginHome, '.coffer-token')), false);
    });
  });

  describe('audit devices', () => {
    it('enable, list and disable a file device', async () => {
      const logFile = join(makeTempDir(), 'audit.log');
      const enabled = await ok(['audit', 'enable', 'file', `file_path=${logFile}`]);
      assert.match(enabled.stdout, /Success! Enabled the file audit device at: file\//);

      const list = await ok(['audit', 'list']);
      assert.match(list.stdout, /^Path\s+Type\s+Description\n/);
      assert.match(list.stdout, /^file\/\s+file/m);
      const detailed = await ok(['audit', 'list', '-detailed']);
      assert.match(detailed.stdout, new RegExp(`file_path:${logFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

      const disabled = await ok(['audit', 'disable', 'file']);
      assert.match(disabled.stdout, /Success! Disabled audit device \(if it was enabled\) at: file\//);
      const empty = await run(['audit', 'list']);
      assert.equal(empty.code, 2);
      assert.match(empty.stdout, /No audit devices are enabled/);
    });
  });

  describe('response wrapping', () => {
    it('-wrap-ttl prints the wrapping token', async () => {
      await ok(['kv', 'put', 'secret/wrapped', 'a=1']);
      const wrapped = await ok(['kv', 'get', '-wrap-ttl=5m', 'secret/wrapped']);
      assert.match(wrapped.stdout, /wrapping_token:\s+\S+/);
      assert.match(wrapped.stdout, /wrapping_token_ttl:\s+5m/);
    });
  });

  describe('operator', () => {
    it('init on an initialized server fails', async () => {
      const result = await run(['operator', 'init']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^Error initializing: .*\(400\)/);
    });

    it('init -status exits 0 when initialized', async () => {
      const result = await ok(['operator', 'init', '-status']);
      assert.match(result.stdout, /Coffer is initialized/);
    });

    it('key-status and rotate', async () => {
      const before = await ok(['operator', 'key-status', '-format=json']);
      const termBefore = Number(JSON.parse(before.stdout).term);
      const rotated = await ok(['operator', 'rotate']);
      assert.match(rotated.stdout, /^Success! Rotated key\n\n/);
      assert.match(rotated.stdout, new RegExp(`Key Term\\s+${termBefore + 1}`));
      assert.match(rotated.stdout, /Install Time\s+\S+/);
    });

    it('seal, status exits 2, then unseal from stdin', async () => {
      const sealed = await ok(['operator', 'seal']);
      assert.match(sealed.stdout, /Success! Coffer is sealed\./);

      const status = await run(['status']);
      assert.equal(status.code, 2);
      assert.match(status.stdout, /Sealed\s+true/);
      assert.match(status.stdout, /Unseal Progress\s+0\/1/);

      const denied = await run(['kv', 'get', 'secret/wrapped']);
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /\(503\)/);

      const unsealed = await ok(['operator', 'unseal'], { stdin: `${server.unsealKey}\n` });
      assert.match(unsealed.stdout, /Sealed\s+false/);
      await ok(['status']);
      assert.equal((await ok(['kv', 'get', '-field=a', 'secret/wrapped'])).stdout, '1\n');
    });

    it('unseal with a wrong key fails', async () => {
      await ok(['operator', 'seal']);
      const wrong = await run(['operator', 'unseal', Buffer.alloc(32, 7).toString('base64')]);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /^Error unsealing: /);
      const reset = await ok(['operator', 'unseal', '-reset']);
      assert.match(reset.stdout, /Unseal Progress\s+0\/1/);
      await ok(['operator', 'unseal', server.unsealKey]);
    });
  });
});
