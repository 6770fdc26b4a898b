// Runs the many-leases benchmark with 200 leases and checks only that every step succeeded. It
// asserts no timing: the numbers of so small a run on a shared machine mean nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

test('bench:leases --count 200 completes', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-lease-bench-smoke-'));
  const output = join(dir, 'results.json');
  try {
    const args = ['--import', 'tsx', 'bench/leases.ts', '--count', '200', '--source', '--baseline-seconds', '0.3', '--output', output];
    const { stdout } = await run(process.execPath, args, { maxBuffer: 16 * 1024 * 1024 });
    assert.match(stdout, /\| unseal to first KV read \| \d+ ms \|/);

    const report = JSON.parse(readFileSync(output, 'utf8'));
    assert.equal(report.machine.nodeVersion, process.version);
    const result = report.result;
    assert.equal(result.count, 200);
    assert.equal(result.revokePrefixCount, 20);
    assert.ok(result.storageBytes > 0, 'no storage was measured');
    assert.ok(result.rssSealedBytes > 0, 'no sealed RSS was measured');
    assert.ok(result.rssUnsealedBytes > 0, 'no unsealed RSS was measured');
    assert.ok(Number.isFinite(result.unsealToServingMs), 'no unseal-to-serving time');
    assert.ok(Number.isFinite(result.unsealToWindowLoadedMs), 'the expiry window log line was not found');
    assert.ok(result.readsDuringRevoke > 0, 'no KV read ran during the revocation');
    assert.equal(result.readErrorsBefore, 0);
    assert.equal(result.readErrorsDuringRevoke, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bench:leases rejects invalid options', async () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /missing --count/],
    [['--count', '5'], /invalid --count "5": expected a whole number, 10 or more/],
    [['--count', '1e3x'], /invalid --count "1e3x"/],
    [['--count', '100', '--concurrency', '0'], /invalid --concurrency "0"/],
    [['--count', '100', '--baseline-seconds=-1'], /invalid --baseline-seconds "-1"/],
    [['--count', '100', '--baseline-seconds', 'soon'], /invalid --baseline-seconds "soon"/],
    [['--bogus'], /Unknown option '--bogus'/],
  ];
  for (const [flags, message] of cases) {
    const args = ['--import', 'tsx', 'bench/leases.ts', '--source', ...flags];
    await assert.rejects(run(process.execPath, args), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1, flags.join(' '));
      assert.match(err.stderr, message);
      return true;
    });
  }
});
