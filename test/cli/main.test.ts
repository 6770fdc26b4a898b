import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_ADDRESS, resolveAddress, resolveToken } from '../../src/cli/command.js';
import { parseArgs } from '../../src/cli/flags.js';
import { HTTP_FLAGS } from '../../src/cli/command.js';
import { storeToken } from '../../src/cli/token-helper.js';
import { findFreePort, makeTempDir, runCli } from './helpers.js';

describe('main dispatch', () => {
  it('prints help and exits 127 without a command', async () => {
    const result = await runCli([]);
    assert.equal(result.code, 127);
    assert.match(result.stderr, /Usage: coffer <command>/);
  });

  it('prints help for -h', async () => {
    const result = await runCli(['-h']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /kv\s+Interact with/);
  });

  it('prints command help with flag units', async () => {
    const result = await runCli(['token', 'create', '-h']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /Usage: coffer token create/);
    assert.match(result.stdout, /-ttl=<duration>\n\s+Initial TTL, in seconds or a duration/);
    assert.match(result.stdout, /-address=<string>/);
  });

  it('prints help through the help verb', async () => {
    const result = await runCli(['help', 'kv', 'metadata', 'put']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /-max-versions=<int>/);
  });

  it('lists subcommands of a group', async () => {
    const result = await runCli(['kv', 'metadata', '-h']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /get\s+Retrieve key metadata/);
  });

  it('rejects an unknown command', async () => {
    const result = await runCli(['frobnicate']);
    assert.equal(result.code, 127);
    assert.match(result.stderr, /Unknown command: frobnicate/);
  });

  it('rejects an unknown subcommand', async () => {
    const result = await runCli(['kv', 'frob', 'x']);
    assert.equal(result.code, 127);
    assert.match(result.stderr, /Unknown command: coffer kv frob/);
  });

  it('prints the version', async () => {
    const result = await runCli(['version']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^Coffer v\d+\.\d+\.\d+\n$/);
  });
});

describe('usage errors', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['unknown flag', ['read', '-nope', 'x'], /flag provided but not defined: -nope/],
    ['missing path', ['read'], /Not enough arguments/],
    ['too many arguments', ['list', 'a', 'b'], /Too many arguments/],
    ['bad format', ['read', '-format=yaml', 'x'], /invalid format "yaml"/],
    ['bad address', ['read', '-address=ftp://host', 'x'], /scheme must be http or https/],
    ['write without data', ['write', 'secret/foo'], /Must supply data or use -force/],
    ['bad key=value', ['write', 'secret/foo', 'novalue'], /expected key=value/],
    ['server without config', ['server'], /configuration file is required/],
    ['bad log level', ['server', '-dev', '-log-level=loud'], /invalid -log-level/],
    ['bad listen address', ['server', '-dev', '-dev-listen-address=nope'], /use HOST:PORT/],
    ['init threshold above shares', ['operator', 'init', '-key-shares=2', '-key-threshold=3'], /invalid -key-threshold 3/],
    ['undelete without versions', ['kv', 'undelete', 'secret/foo'], /No versions provided/],
    ['revoke self with accessor', ['token', 'revoke', '-self', '-accessor'], /-self cannot be combined/],
  ];
  for (const [name, argv, message] of cases) {
    it(`exits 2 on ${name}`, async () => {
      const result = await runCli(argv);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, '');
    });
  }

  it('shows the usage line after the message', async () => {
    const result = await runCli(['kv', 'get']);
    assert.match(result.stderr, /Usage: coffer kv get \[options\] KEY/);
  });
});

describe('connection failure', () => {
  it('names the address and the fix', async () => {
    const port = await findFreePort();
    const address = `http://127.0.0.1:${port}`;
    const result = await runCli(['read', `-address=${address}`, 'secret/foo']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`Error reading secret/foo: connection refused at ${address}`));
    assert.match(result.stderr, /coffer server -dev/);
    assert.match(result.stderr, /COFFER_ADDR/);
  });

  it('reads the address from COFFER_ADDR', async () => {
    const port = await findFreePort();
    const result = await runCli(['status'], { env: { COFFER_ADDR: `http://127.0.0.1:${port}` } });
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`127\\.0\\.0\\.1:${port}`));
  });
});

describe('resolveAddress', () => {
  const flagsOf = (argv: string[]) => parseArgs(argv, HTTP_FLAGS).flags;

  it('prefers -address', () => {
    assert.equal(resolveAddress(flagsOf(['-address=http://a:1/']), { COFFER_ADDR: 'http://b:2', VAULT_ADDR: 'http://c:3' }), 'http://a:1');
  });

  it('prefers COFFER_ADDR over VAULT_ADDR', () => {
    assert.equal(resolveAddress(flagsOf([]), { COFFER_ADDR: 'http://b:2', VAULT_ADDR: 'http://c:3' }), 'http://b:2');
  });

  it('falls back to VAULT_ADDR', () => {
    assert.equal(resolveAddress(flagsOf([]), { VAULT_ADDR: 'https://c:3' }), 'https://c:3');
  });

  it('defaults to loopback', () => {
    assert.equal(resolveAddress(flagsOf([]), {}), DEFAULT_ADDRESS);
  });
});

describe('resolveToken', () => {
  it('prefers COFFER_TOKEN, then VAULT_TOKEN, then the helper file', async () => {
    const home = makeTempDir();
    await storeToken(home, 'from-file\n');
    assert.equal(await resolveToken({ COFFER_TOKEN: 'a', VAULT_TOKEN: 'b' }, home), 'a');
    assert.equal(await resolveToken({ VAULT_TOKEN: 'b' }, home), 'b');
    assert.equal(await resolveToken({}, home), 'from-file');
  });

  it('returns undefined without any source', async () => {
    assert.equal(await resolveToken({}, makeTempDir()), undefined);
  });
});

describe('login without a server', () => {
  it('rejects an unknown method', async () => {
    const result = await runCli(['login', '-method=ldap', 'username=bob']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown -method "ldap": use token, userpass or approle/);
  });

  it('rejects an empty password from stdin', async () => {
    const result = await runCli(['login', '-method=userpass', 'username=bob'], { stdin: '\n' });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Missing password/);
  });
});

describe('policy fmt', () => {
  it('rewrites a policy in canonical HCL', async () => {
    const file = join(makeTempDir(), 'ops.hcl');
    writeFileSync(file, 'path "secret/data/*" {capabilities=["read","list"]}\npath "sys/mounts" { policy = "deny" }\n');
    const result = await runCli(['policy', 'fmt', file]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Success! Formatted policy/);
    assert.equal(
      readFileSync(file, 'utf8'),
      'path "secret/data/*" {\n  capabilities = ["read", "list"]\n}\n\npath "sys/mounts" {\n  capabilities = ["deny"]\n}\n',
    );
  });

  it('leaves an invalid policy unchanged', async () => {
    const file = join(makeTempDir(), 'bad.hcl');
    const text = 'path "secret/*" { capabilities = ["fly"] }\n';
    writeFileSync(file, text);
    const result = await runCli(['policy', 'fmt', file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Error parsing policy/);
    assert.equal(readFileSync(file, 'utf8'), text);
  });

  it('reports a missing file', async () => {
    const result = await runCli(['policy', 'fmt', join(makeTempDir(), 'none.hcl')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Error reading file .*none\.hcl/);
  });
});
