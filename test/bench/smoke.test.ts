// Runs the benchmark harness once with tiny rounds and checks only that every request succeeded.
// It asserts no timing: the numbers of a 1-second round on a shared machine mean nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BenchReport } from '../../bench/report.js';

const run = promisify(execFile);

test('bench --quick answers every request', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-bench-smoke-'));
  const output = join(dir, 'results.json');
  try {
    const args = ['--import', 'tsx', 'bench/run.ts', '--quick', '--source', '--duration', '1', '--connections', '4', '--output', output];
    const { stdout } = await run(process.execPath, args, { maxBuffer: 16 * 1024 * 1024 });

    assert.match(stdout, /\| scenario +\| server +\| req\/s +\| p50 ms +\| p99 ms +\| errors +\| ratio +\| target +\| met +\|/);
    assert.match(stdout, /\| kv-read +\| coffer /);

    const report = JSON.parse(readFileSync(output, 'utf8')) as BenchReport;
    assert.ok(report.machine.cores > 0);
    assert.equal(report.machine.nodeVersion, process.version);
    const ran = report.scenarios.filter((s) => s.status === 'ran');
    assert.ok(ran.some((s) => s.name === 'kv-read'), 'kv-read did not run');
    assert.deepEqual(report.scenarios.filter((s) => s.status === 'failed'), []);
    for (const scenario of ran) {
      assert.ok(scenario.coffer!.requests > 0, `${scenario.name}: coffer completed no request`);
      assert.equal(scenario.coffer!.errors, 0, `${scenario.name}: coffer errors ${JSON.stringify(scenario.coffer!.statusCodes)}`);
      assert.equal(scenario.bare!.errors, 0, `${scenario.name}: bare server errors`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bench rejects invalid options', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--scenario', 'no-such-scenario'], /unknown --scenario "no-such-scenario": use one of kv-read/],
    [['--duration', '0'], /invalid --duration "0": expected a positive number/],
    [['--connections', '1.5'], /invalid --connections 1.5: expected a whole number/],
    [['--bogus'], /Unknown option '--bogus'/],
  ];
  for (const [flags, message] of cases) {
    const args = ['--import', 'tsx', 'bench/run.ts', '--source', ...flags];
    await assert.rejects(run(process.execPath, args), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1, flags.join(' '));
      assert.match(err.stderr, message);
      return true;
    });
  }
});
