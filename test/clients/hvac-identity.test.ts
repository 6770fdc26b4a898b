import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { spawnServer } from '../helpers/server.js';
import { hvacAvailable, requireService } from '../helpers/services.js';

test('hvac: approle, userpass, leases, wrapping, batch', { skip: !requireService('hvac', hvacAvailable(), 'python3-hvac is not installed (apt-get install python3-hvac)') }, async () => {
  const port = 0; // the server picks a free port and prints it
  const server = await spawnServer(['server', '-dev', '-dev-root-token-id=root', `-dev-listen-address=127.0.0.1:${port}`]);
  try {
    const result = spawnSync('/usr/bin/python3', [join(import.meta.dirname, 'hvac_identity.py'), server.url, 'root'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(result.status, 0, `hvac identity flow failed:\n${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /ok/);
  } finally {
    await server.stop();
  }
});
