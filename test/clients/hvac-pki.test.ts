import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { startDevServer } from '../helpers/server.js';
import { hvacAvailable, requireService } from '../helpers/services.js';

const FLOW = join(import.meta.dirname, 'hvac_pki.py');
const opensslAvailable = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
const available = hvacAvailable() && opensslAvailable;

/** Runs the hvac script without blocking the event loop, because the server runs in this process. */
function runFlow(url: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('/usr/bin/python3', [FLOW, url, 'root'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (status) => resolve({ status, output }));
  });
}

test('hvac: PKI root, role, issue, revoke, CRL', { skip: !requireService('hvac', available, 'python3-hvac or openssl is not installed') }, async () => {
  const server = await startDevServer();
  try {
    const result = await runFlow(server.url);
    assert.equal(result.status, 0, `hvac PKI flow failed:\n${result.output}`);
    assert.equal(result.output.trim().split('\n').pop(), 'ok');
  } finally {
    await server.close();
  }
});
