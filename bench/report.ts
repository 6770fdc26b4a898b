import { cpus, loadavg, totalmem } from 'node:os';
import type { TargetStats } from './load-protocol.js';

/** The outcome of one scenario. */
export interface ScenarioResult {
  name: string;
  description: string;
  status: 'ran' | 'skipped' | 'failed';
  /** Reason the scenario was skipped or failed. */
  reason?: string;
  coffer?: TargetStats;
  bare?: TargetStats;
  /** Coffer's requests per second divided by the bare server's. */
  ratio?: number;
  targetRatio?: number;
  /** True when the ratio reaches the target and every Coffer response had a 2xx status. */
  met?: boolean;
}

/** The machine a run happened on. */
export interface MachineInfo {
  cores: number;
  cpuModel: string;
  nodeVersion: string;
  platform: string;
  arch: string;
  totalMemoryBytes: number;
  /** One-minute load average when the run started; other work on the machine skews the numbers. */
  loadAverage1m: number;
}

/** Settings of a run, recorded so a reader can reproduce it. */
export interface RunSettings {
  connections: number;
  durationSeconds: number;
  rounds: number;
  warmupSeconds: number;
  quick: boolean;
  /** Build the server ran from: compiled `dist/`, or `src/` through tsx. */
  build: 'dist' | 'source';
  /** `file` as in production; `none` only when measuring what auditing costs. */
  audit: 'file' | 'none';
  command: string;
}

/** Everything a run writes to `bench/results/<timestamp>.json`. */
export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  settings: RunSettings;
  server: { storage: 'sqlite'; audit: 'file' | 'none'; tls: false };
  scenarios: ScenarioResult[];
}

export function describeMachine(): MachineInfo {
  const cpuList = cpus();
  return {
    cores: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    nodeVersion: process.version,
    platform: process.platform,
    arch: process.arch,
    totalMemoryBytes: totalmem(),
    loadAverage1m: loadavg()[0]!,
  };
}

/** Computes the ratio and the target verdict of a scenario that ran. */
export function judge(result: ScenarioResult): ScenarioResult {
  if (!result.coffer || !result.bare) return result;
  const ratio = result.bare.requestsPerSecond > 0 ? result.coffer.requestsPerSecond / result.bare.requestsPerSecond : 0;
  const met = result.targetRatio === undefined ? undefined : ratio >= result.targetRatio && result.coffer.errors === 0;
  return { ...result, ratio, met };
}

const HEADER = ['scenario', 'server', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'ratio', 'target', 'met'];

function verdict(result: ScenarioResult): string {
  if (result.met === undefined) return '-';
  if (result.met) return 'met';
  return result.coffer && result.coffer.errors > 0 ? 'not met (errors)' : 'not met';
}

function statsRow(name: string, server: string, stats: TargetStats, ratio: string, target: string, met: string): string[] {
  return [name, server, stats.requestsPerSecond.toFixed(0), stats.latencyP50Ms.toFixed(0), stats.latencyP99Ms.toFixed(0), String(stats.errors), ratio, target, met];
}

/**
 * Formats the results as a Markdown table, two rows per scenario that ran and one per scenario that
 * did not, followed by the reason of each scenario that was skipped or failed.
 */
export function formatTable(results: ScenarioResult[]): string {
  const rows: string[][] = [];
  for (const result of results) {
    if (result.status !== 'ran' || !result.coffer || !result.bare) {
      const target = result.targetRatio === undefined ? '-' : `>= ${result.targetRatio.toFixed(2)}`;
      rows.push([result.name, '-', '-', '-', '-', '-', '-', target, result.status]);
      continue;
    }
    const target = result.targetRatio === undefined ? '-' : `>= ${result.targetRatio.toFixed(2)}`;
    rows.push(statsRow(result.name, 'coffer', result.coffer, (result.ratio ?? 0).toFixed(2), target, verdict(result)));
    rows.push(statsRow(result.name, 'bare', result.bare, '1.00', '', ''));
  }

  const widths = HEADER.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  const rule = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
  const notes = results.filter((r) => r.reason).map((r) => `${r.name}: ${r.status}: ${r.reason}`);
  return [line(HEADER), rule, ...rows.map(line), ...(notes.length > 0 ? ['', ...notes] : [])].join('\n');
}

/** Lists a target's responses with a status other than 2xx, e.g. `403 x12, 500 x3`. */
export function describeFailures(stats: TargetStats): string {
  const codes = Object.entries(stats.statusCodes)
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, count]) => `${code} x${count}`);
  if (stats.connectionErrors > 0) codes.push(`connection errors x${stats.connectionErrors} (timeouts ${stats.timeouts})`);
  return codes.join(', ');
}
