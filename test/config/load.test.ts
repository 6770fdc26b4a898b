import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/source.js';
import { DEFAULT_LEASE_TTL, DEFAULT_MAX_LEASE_TTL, DEFAULT_MAX_REQUEST_SIZE } from '../../src/config/types.js';

const workDir = mkdtempSync(join(tmpdir(), 'coffer-config-test-'));
const certFile = join(workDir, 'server.crt');
const keyFile = join(workDir, 'server.key');
writeFileSync(certFile, 'not parsed by the config loader\n');
writeFileSync(keyFile, 'not parsed by the config loader\n');
chmodSync(keyFile, 0o600);

after(() => rmSync(workDir, { recursive: true, force: true }));

const FULL_HCL = `# A complete configuration.
storage "sqlite" {
  path = "/var/lib/coffer/coffer.db"
}

listener "tcp" {
  address          = "0.0.0.0:8200"
  tls_cert_file    = "${certFile}"
  tls_key_file     = "${keyFile}"
  tls_min_version  = "tls13"
  max_request_size = 1048576
}

listener "tcp" {
  address     = "[::1]:8201"
  tls_disable = "true"
}

api_addr          = "https://coffer.example.com:8200"
cluster_addr      = "https://coffer.example.com:8201"
default_lease_ttl = "1h"
max_lease_ttl     = "24h"
log_level         = "debug"
ui                = true
disable_mlock     = true
`;

const FULL_JSON = JSON.stringify(
  {
    storage: { sqlite: { path: '/var/lib/coffer/coffer.db' } },
    listener: [
      { tcp: { address: '0.0.0.0:8200', tls_cert_file: certFile, tls_key_file: keyFile, tls_min_version: 'tls13', max_request_size: 1048576 } },
      { tcp: { address: '[::1]:8201', tls_disable: 'true' } },
    ],
    api_addr: 'https://coffer.example.com:8200',
    cluster_addr: 'https://coffer.example.com:8201',
    default_lease_ttl: '1h',
    max_lease_ttl: 86400,
    log_level: 'debug',
    ui: true,
    disable_mlock: true,
  },
  null,
  2,
);

const EXPECTED_FULL = {
  storage: { type: 'sqlite', path: '/var/lib/coffer/coffer.db' },
  listeners: [
    {
      type: 'tcp',
      address: '0.0.0.0:8200',
      tlsDisable: false,
      tlsCertFile: certFile,
      tlsKeyFile: keyFile,
      tlsMinVersion: 'tls13',
      maxRequestSize: 1048576,
    },
    { type: 'tcp', address: '[::1]:8201', tlsDisable: true, tlsMinVersion: 'tls12', maxRequestSize: DEFAULT_MAX_REQUEST_SIZE },
  ],
  apiAddr: 'https://coffer.example.com:8200',
  defaultLeaseTtl: 3600,
  maxLeaseTtl: 86400,
  logLevel: 'debug',
  ui: true,
};

const MINIMAL_HCL = 'storage "inmem" {}\n\nlistener "tcp" {\n  tls_disable = true\n}\n';

describe('parseConfig accepts', () => {
  it('full HCL config', async () => {
    assert.deepEqual(await parseConfig(FULL_HCL, 'coffer.hcl'), { source: 'coffer.hcl', ...EXPECTED_FULL });
  });

  it('full JSON config', async () => {
    assert.deepEqual(await parseConfig(FULL_JSON, 'coffer.json'), { source: 'coffer.json', ...EXPECTED_FULL });
  });

  it('JSON detected by leading brace', async () => {
    const config = await parseConfig(`  ${FULL_JSON}`, 'coffer.conf');
    assert.equal(config.storage.type, 'sqlite');
  });

  it('JSON blocks as objects', async () => {
    const text = '{"storage": {"inmem": {}}, "listener": {"tcp": [{"tls_disable": true}, {"tls_disable": 1, "address": "127.0.0.1:0"}]}}';
    const config = await parseConfig(text, 'c.json');
    assert.deepEqual(config.storage, { type: 'inmem' });
    assert.equal(config.listeners.length, 2);
    assert.equal(config.listeners[1].address, '127.0.0.1:0');
  });

  it('minimal config gets defaults', async () => {
    assert.deepEqual(await parseConfig(MINIMAL_HCL, 'min.hcl'), {
      source: 'min.hcl',
      storage: { type: 'inmem' },
      listeners: [
        { type: 'tcp', address: '127.0.0.1:8200', tlsDisable: true, tlsMinVersion: 'tls12', maxRequestSize: DEFAULT_MAX_REQUEST_SIZE },
      ],
      defaultLeaseTtl: DEFAULT_LEASE_TTL,
      maxLeaseTtl: DEFAULT_MAX_LEASE_TTL,
      logLevel: 'info',
      ui: false,
    });
  });

  it('tls_disable spellings', async () => {
    const spellings: [string, boolean][] = [
      ['true', true],
      ['"true"', true],
      ['"1"', true],
      ['1', true],
      ['false', false],
      ['"false"', false],
      ['"0"', false],
    ];
    for (const [spelling, expected] of spellings) {
      const text = `storage "inmem" {}\nlistener "tcp" {\n  tls_disable = ${spelling}\n  tls_cert_file = "${certFile}"\n  tls_key_file = "${keyFile}"\n}\n`;
      const config = await parseConfig(text, 'c.hcl');
      assert.equal(config.listeners[0].tlsDisable, expected, `tls_disable = ${spelling}`);
    }
  });

  it('durations as seconds and strings', async () => {
    const text = `${MINIMAL_HCL}default_lease_ttl = 90\nmax_lease_ttl = "1h30m"\n`;
    const config = await parseConfig(text, 'c.hcl');
    assert.equal(config.defaultLeaseTtl, 90);
    assert.equal(config.maxLeaseTtl, 5400);
  });

  it('log level aliases', async () => {
    const config = await parseConfig(`${MINIMAL_HCL}log_level = "WARNING"\n`, 'c.hcl');
    assert.equal(config.logLevel, 'warn');
  });
});

interface BadCase {
  name: string;
  file?: string;
  text: string;
  line: number | undefined;
  /** Substrings the message must contain, after the `file:line: ` part. */
  includes: string[];
}

const BAD_CASES: BadCase[] = [
  {
    name: 'misspelled listener key',
    text: 'storage "inmem" {}\n\nlistener "tcp" {\n  tls_disable = true\n  adress = "127.0.0.1:8200"\n}\n',
    line: 5,
    includes: ['unknown key "adress" in listener "tcp"', 'expected one of: address, tls_disable'],
  },
  {
    name: 'unknown top-level block',
    text: `${MINIMAL_HCL}\nseal "transit" {\n  address = "x"\n}\n`,
    line: 7,
    includes: ['unknown key "seal" at the top level'],
  },
  {
    name: 'unknown top-level key',
    text: `${MINIMAL_HCL}plugin_directory = "/x"\n`,
    line: 6,
    includes: ['unknown key "plugin_directory"', 'api_addr'],
  },
  {
    name: 'key in inmem storage',
    text: 'storage "inmem" {\n  path = "x"\n}\nlistener "tcp" {\n  tls_disable = true\n}\n',
    line: 2,
    includes: ['unknown key "path" in storage "inmem", which takes no keys'],
  },
  { name: 'missing storage', text: 'listener "tcp" {\n  tls_disable = true\n}\n', line: 1, includes: ['missing storage block'] },
  { name: 'two storage blocks', text: `${MINIMAL_HCL}storage "sqlite" {\n  path = "x"\n}\n`, line: 6, includes: ['more than one storage block'] },
  { name: 'unknown storage type', text: 'storage "consul" {}\nlistener "tcp" {\n}\n', line: 1, includes: ['unsupported storage type "consul"'] },
  { name: 'sqlite without path', text: 'listener "tcp" {\n  tls_disable = true\n}\nstorage "sqlite" {\n}\n', line: 4, includes: ['missing path in storage "sqlite"'] },
  { name: 'sqlite path of wrong type', text: 'storage "sqlite" {\n  path = 5\n}\nlistener "tcp" {\n  tls_disable = true\n}\n', line: 2, includes: ['invalid path in storage "sqlite": expected a string, got 5'] },
  { name: 'missing listener', text: 'storage "inmem" {}\n', line: 1, includes: ['missing listener block'] },
  { name: 'unknown listener type', text: 'storage "inmem" {}\nlistener "unix" {\n}\n', line: 2, includes: ['unsupported listener type "unix"'] },
  {
    name: 'bad tls_disable value',
    text: 'storage "inmem" {}\nlistener "tcp" {\n  address = "127.0.0.1:1"\n  tls_disable = "yes"\n}\n',
    line: 4,
    includes: ['invalid tls_disable in listener "tcp": expected true or false, got "yes"'],
  },
  {
    name: 'TLS without cert files',
    text: 'storage "inmem" {}\nlistener "tcp" {\n  address = "127.0.0.1:1"\n}\n',
    line: 2,
    includes: ['missing tls_cert_file in listener "tcp"'],
  },
  {
    name: 'TLS key file missing on disk',
    text: `storage "inmem" {}\nlistener "tcp" {\n  tls_cert_file = "${certFile}"\n  tls_key_file = "${join(workDir, 'absent.key')}"\n}\n`,
    line: 4,
    includes: ['invalid tls_key_file', 'ENOENT'],
  },
  {
    name: 'TLS cert file is a directory',
    text: `storage "inmem" {}\nlistener "tcp" {\n  tls_cert_file = "${workDir}"\n  tls_key_file = "${keyFile}"\n}\n`,
    line: 3,
    includes: ['invalid tls_cert_file', 'not a regular file'],
  },
  {
    name: 'bad tls_min_version',
    text: 'storage "inmem" {}\nlistener "tcp" {\n  tls_disable = true\n  tls_min_version = "tls10"\n}\n',
    line: 4,
    includes: ['invalid tls_min_version', '"tls10"'],
  },
  { name: 'address without port', text: 'storage "inmem" {}\nlistener "tcp" {\n  tls_disable = true\n  address = "localhost"\n}\n', line: 4, includes: ['invalid address', 'HOST:PORT'] },
  { name: 'address port too large', text: 'storage "inmem" {}\nlistener "tcp" {\n  tls_disable = true\n  address = "127.0.0.1:70000"\n}\n', line: 4, includes: ['port must be from 0 to 65535'] },
  { name: 'address bad IPv6', text: 'storage "inmem" {}\nlistener "tcp" {\n  tls_disable = true\n  address = "[zz]:1"\n}\n', line: 4, includes: ['not an IPv6 address'] },
  { name: 'address as reference', text: 'storage "inmem" {}\nlistener "tcp" {\n  tls_disable = true\n  address = local.addr\n}\n', line: 4, includes: ['invalid address', 'not supported'] },
  { name: 'max_request_size zero', text: 'storage "inmem" {}\nlistener "tcp" {\n  tls_disable = true\n  max_request_size = 0\n}\n', line: 4, includes: ['invalid max_request_size', 'positive number of bytes'] },
  { name: 'max_request_size fraction', text: 'storage "inmem" {}\nlistener "tcp" {\n  tls_disable = true\n  max_request_size = 1.5\n}\n', line: 4, includes: ['invalid max_request_size', 'whole number'] },
  {
    name: 'key in second listener',
    text: 'storage "inmem" {}\nlistener "tcp" {\n  tls_disable = true\n  address = "127.0.0.1:1"\n}\nlistener "tcp" {\n  tls_disable = true\n  address = "nope"\n}\n',
    line: 8,
    includes: ['invalid address', '"nope"'],
  },
  { name: 'bad duration', text: `${MINIMAL_HCL}default_lease_ttl = "ten minutes"\n`, line: 6, includes: ['invalid default_lease_ttl', '"ten minutes"'] },
  { name: 'negative duration', text: `${MINIMAL_HCL}max_lease_ttl = -5\n`, line: 6, includes: ['invalid max_lease_ttl'] },
  { name: 'max below default', text: `${MINIMAL_HCL}default_lease_ttl = "2h"\nmax_lease_ttl = "1h"\n`, line: 7, includes: ['max_lease_ttl (3600s) is less than default_lease_ttl (7200s)'] },
  { name: 'default above default max', text: `${MINIMAL_HCL}default_lease_ttl = "800h"\n`, line: 6, includes: ['invalid default_lease_ttl'] },
  { name: 'bad log level', text: `${MINIMAL_HCL}log_level = "loud"\n`, line: 6, includes: ['invalid log_level: "loud"'] },
  { name: 'ui of wrong type', text: `${MINIMAL_HCL}ui = "maybe"\n`, line: 6, includes: ['invalid ui at the top level'] },
  { name: 'api_addr not a URL', text: `${MINIMAL_HCL}api_addr = "coffer:8200"\n`, line: 6, includes: ['invalid api_addr'] },
  { name: 'HCL syntax error', text: 'storage "inmem" {}\nlistener "tcp" {\n  tls_disable = \n}\n', line: 3, includes: ['invalid HCL'] },
  { name: 'HCL unclosed block', text: 'storage "inmem" {}\n\nlistener "tcp" {\n  tls_disable = true\n', line: 3, includes: ['invalid HCL', 'Unclosed configuration block'] },
  { name: 'HCL attribute set twice', text: `${MINIMAL_HCL}ui = true\nui = false\n`, line: 7, includes: ['invalid HCL', 'redefined'] },
  {
    name: 'HCL nested too deep',
    text: `${MINIMAL_HCL}\nx = ${'['.repeat(40)}"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"${']'.repeat(40)}\n`,
    line: 7,
    includes: ['nested more than 32 levels'],
  },
  {
    name: 'JSON syntax error',
    file: 'c.json',
    text: '{\n  "storage": {"inmem": {}},\n  "listener": {"tcp": {"tls_disable": true}},\n}\n',
    line: 4,
    includes: ['invalid JSON'],
  },
  { name: 'JSON array at top', file: 'c.json', text: '[]', line: 1, includes: ['expected a JSON object'] },
  {
    name: 'JSON unknown listener key',
    file: 'c.json',
    text: '{\n  "storage": {"inmem": {}},\n  "listener": [\n    {"tcp": {"tls_disable": true}},\n    {"tcp": {\n      "tls_disable": true,\n      "adress": "x"\n    }}\n  ]\n}\n',
    line: 7,
    includes: ['unknown key "adress" in listener "tcp"'],
  },
  { name: 'JSON listener not a block', file: 'c.json', text: '{\n  "storage": {"inmem": {}},\n  "listener": "tcp"\n}\n', line: 3, includes: ['invalid listener', 'got "tcp"'] },
  { name: 'JSON proto key', file: 'c.json', text: '{\n  "storage": {"inmem": {}},\n  "__proto__": {"x": 1}\n}\n', line: 3, includes: ['unknown key "__proto__"'] },
];

describe('parseConfig rejects', () => {
  for (const c of BAD_CASES) {
    it(c.name, async () => {
      const file = c.file ?? 'coffer.hcl';
      const err = await parseConfig(c.text, file).then(
        () => assert.fail('expected the config to be rejected'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
      assert.equal(err.file, file);
      assert.equal(err.line, c.line, err.message);
      const prefix = c.line === undefined ? `${file}: ` : `${file}:${c.line}: `;
      assert.ok(err.message.startsWith(prefix), err.message);
      for (const part of c.includes) {
        assert.ok(err.message.toLowerCase().includes(part.toLowerCase()), `"${err.message}" lacks "${part}"`);
      }
    });
  }
});

describe('loadConfig', () => {
  it('reads an HCL file', async () => {
    const path = join(workDir, 'coffer.hcl');
    writeFileSync(path, FULL_HCL);
    assert.deepEqual(await loadConfig(path), { source: path, ...EXPECTED_FULL });
  });

  it('reads a JSON file', async () => {
    const path = join(workDir, 'coffer.json');
    writeFileSync(path, FULL_JSON);
    assert.deepEqual(await loadConfig(path), { source: path, ...EXPECTED_FULL });
  });

  it('reports the path in errors', async () => {
    const path = join(workDir, 'bad.hcl');
    writeFileSync(path, `${MINIMAL_HCL}adress = 1\n`);
    await assert.rejects(loadConfig(path), (err: Error) => err.message.startsWith(`${path}:6: unknown key "adress"`));
  });

  it('reports a missing file', async () => {
    const path = join(workDir, 'absent.hcl');
    await assert.rejects(loadConfig(path), (err: Error) => err instanceof ConfigError && err.message === `${path}: reading the config file failed (ENOENT)`);
  });
});
