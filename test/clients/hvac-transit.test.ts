import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDevServer } from '../helpers/server.js';
import { hvacAvailable, requireService } from '../helpers/services.js';

const SCRIPT = join(import.meta.dirname, 'hvac_transit.py');
const execFileAsync = promisify(execFile);

test('hvac: transit methods', { skip: !requireService('hvac', hvacAvailable(), 'python3-hvac is not installed (apt-get install python3-hvac)') }, async () => {
  const server = await startDevServer();
  try {
    // The script runs asynchronously, because the in-process server must keep serving its requests.
    const result = await execFileAsync('/usr/bin/python3', [SCRIPT, server.url, 'root'], { timeout: 120_000 }).catch((err) => {
      assert.fail(`hvac transit script failed:\n${err.stdout}\n${err.stderr}`);
    });
    const last = result.stdout.trim().split('\n').pop()!;
    assert.deepEqual(JSON.parse(last), { ok: true });
  } finally {
    await server.close();
  }
});
