import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { spawnServer, sqliteConfigFile } from '../helpers/server.js';
import { hvacAvailable, requireService } from '../helpers/services.js';

const FLOW = join(import.meta.dirname, 'hvac_flow.py');

function runFlow(...args: string[]): string {
  const result = spawnSync('/usr/bin/python3', [FLOW, ...args], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(result.status, 0, `hvac flow "${args[0]}" failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout.trim().split('\n').pop()!;
}

test('hvac: init, unseal, policies, KV, audit, restart', { skip: !requireService('hvac', hvacAvailable(), 'python3-hvac is not installed (apt-get install python3-hvac)') }, async () => {
  const port = 0; // the server picks a free port and prints it
  const { dir, configPath } = sqliteConfigFile(port);
  const auditFile = join(dir, 'audit.log');

  let server = await spawnServer(['server', `-config=${configPath}`]);
  let state: string;
  try {
    state = runFlow('setup', server.url, auditFile);
  } finally {
    await server.stop();
  }

  server = await spawnServer(['server', `-config=${configPath}`]);
  try {
    const result = JSON.parse(runFlow('restart', server.url, state));
    assert.equal(result.ok, true);
  } finally {
    await server.stop();
  }
});
