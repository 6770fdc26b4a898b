// Measures how Coffer behaves with many leases: unseal-to-serving time, memory and storage per
// lease, and the latency of unrelated reads while a prefix of leases is revoked.
// Usage: npm run bench:leases -- --count N [--source | --skip-build] [--output FILE]
//
// The leases are created in-process through a `createLeases(core, { count, prefix, ttlSeconds })`
// export of a module under src/core/expiration/, which registers them the way a dynamic secret's
// lease is registered. The measurements then run against a separate server process.
import { readdirSync, readFileSync, statSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { callApi, callApiOk, initialize, unseal } from './coffer-api.js';
import { buildDist, freePort, REPO_ROOT, startCofferProcess, writeCofferConfig, type ServerProcess } from './processes.js';
import { describeMachine } from './report.js';
import { loadConfig } from '../src/config/load.js';
import { devConfig, startServer, type RunningServer } from '../src/server.js';
import type { Core } from '../src/core/core.js';

/** The helper this script expects from the expiration manager's module. */
type CreateLeases = (core: Core, options: { count: number; prefix: string; ttlSeconds: number }) => Promise<unknown>;

/** Exit code when the lease wiring is not there yet, so a caller can tell it from a failure. */
const EXIT_NOT_AVAILABLE = 3;
const PROBE_PATH = 'secret/data/lease-bench-probe';
const KEEP_PREFIX = 'lease-bench/keep/';
const REVOKE_PREFIX = 'lease-bench/revoke/';
/** Leases outlive the run, so none expires while it measures. */
const LEASE_TTL_SECONDS = 24 * 3600;

const TARGETS = { unsealToServingMs: 2000, bytesPerIdleLease: 1024, readP99DuringRevokeMs: 50 };

class NotAvailableError extends Error {}

function parseOptions(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      count: { type: 'string' },
      source: { type: 'boolean', default: false },
      'skip-build': { type: 'boolean', default: false },
      output: { type: 'string' },
    },
  });
  const count = Number(values.count);
  if (values.count === undefined || !Number.isSafeInteger(count) || count < 10) {
    throw new Error(`invalid or missing --count ${JSON.stringify(values.count ?? '')}: pass a whole number of leases, 10 or more, e.g. --count 1000000`);
  }
  return { count, build: values.source ? ('source' as const) : ('dist' as const), skipBuild: values['skip-build']!, output: values.output };
}

/**
 * Checks that leases are wired into the server: `sys/leases/count` returns 200 on a dev server,
 * and a module under src/core/expiration/ exports `createLeases`. Throws NotAvailableError otherwise.
 */
async function findLeaseWiring(): Promise<CreateLeases> {
  const dev = await startServer(devConfig('127.0.0.1:0', 'error'), { dev: true, devRootTokenId: 'root', logger: pino({ level: 'silent' }) });
  try {
    const response = await callApi(`http://${dev.addresses[0]}`, 'GET', 'sys/leases/count?type=irrevocable', { token: 'root' });
    if (response.status !== 200) throw new NotAvailableError(`sys/leases/count returned status ${response.status} on a dev server`);
  } finally {
    await dev.close();
  }

  const folder = join(REPO_ROOT, 'src/core/expiration');
  const modules = existsSync(folder) ? readdirSync(folder).filter((name) => name.endsWith('.ts')) : [];
  for (const name of modules) {
    const exported = (await import(pathToFileURL(join(folder, name)).href)) as { createLeases?: unknown };
    if (typeof exported.createLeases === 'function') return exported.createLeases as CreateLeases;
  }
  throw new NotAvailableError('no module under src/core/expiration/ exports createLeases(core, { count, prefix, ttlSeconds })');
}

/** Bytes of the SQLite database with its write-ahead log. */
function storageBytes(dbPath: string): number {
  return [dbPath, `${dbPath}-wal`].filter(existsSync).reduce((sum, file) => sum + statSync(file).size, 0);
}

/** Resident memory of a process in bytes, from /proc (Linux only). */
function residentBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS line in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

async function pollUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Fills a new SQLite server in-process with the leases; returns the unseal keys and root token. */
async function fillServer(configPath: string, createLeases: CreateLeases, count: number, revokeCount: number) {
  const server: RunningServer = await startServer(await loadConfig(configPath), { logger: pino({ level: 'silent' }) });
  try {
    const url = `http://${server.addresses[0]}`;
    const { keys, rootToken } = await initialize(url);
    await unseal(url, keys);
    await callApiOk(url, 'POST', 'sys/mounts/secret', { token: rootToken, body: { type: 'kv', options: { version: '2' } } });
    await callApiOk(url, 'POST', PROBE_PATH, { token: rootToken, body: { data: { value: 'probe' } } });

    const started = Date.now();
    await createLeases(server.core, { count: count - revokeCount, prefix: KEEP_PREFIX, ttlSeconds: LEASE_TTL_SECONDS });
    await createLeases(server.core, { count: revokeCount, prefix: REVOKE_PREFIX, ttlSeconds: LEASE_TTL_SECONDS });
    return { keys, rootToken, createMs: Date.now() - started };
  } finally {
    await server.close();
  }
}

/** Reads the probe secret in a loop on `concurrency` connections until `stop` resolves. */
async function readWhile(url: string, token: string, stop: Promise<unknown>, concurrency = 4): Promise<{ latenciesMs: number[]; errors: number }> {
  let done = false;
  void stop.finally(() => (done = true));
  const latenciesMs: number[] = [];
  let errors = 0;
  const reader = async () => {
    while (!done) {
      const started = performance.now();
      const response = await callApi(url, 'GET', PROBE_PATH, { token });
      latenciesMs.push(performance.now() - started);
      if (response.status !== 200) errors++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, reader));
  return { latenciesMs, errors };
}

function percentile(values: number[], fraction: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

async function measure(options: ReturnType<typeof parseOptions>, createLeases: CreateLeases) {
  const workDir = mkdtempSync(join(tmpdir(), 'coffer-lease-bench-'));
  let server: ServerProcess | undefined;
  try {
    const port = await freePort();
    const { configPath, dbPath } = writeCofferConfig(workDir, port);
    const revokeCount = Math.min(100_000, Math.floor(options.count / 10));

    process.stderr.write(`creating ${options.count} leases ...\n`);
    const filled = await fillServer(configPath, createLeases, options.count, revokeCount);
    const bytes = storageBytes(dbPath);

    // Restart as a separate process and time the way back to serving.
    server = await startCofferProcess({ configPath, port, build: options.build });
    const rssSealed = residentBytes(server.child.pid!);
    const unsealStarted = performance.now();
    await unseal(server.url, filled.keys);
    await pollUntil('the first KV read', 600_000, async () => (await callApi(server!.url, 'GET', PROBE_PATH, { token: filled.rootToken })).status === 200);
    const unsealToServingMs = performance.now() - unsealStarted;

    // NOTE: the expiration manager loads its expiry index lazily, so "tracked" is measured as the
    // first lease of each prefix being listed by sys/leases/lookup, not as a load of every lease.
    await pollUntil('leases to answer lookups', 600_000, async () => {
      for (const prefix of [KEEP_PREFIX, REVOKE_PREFIX]) {
        const listed = await callApi(server!.url, 'GET', `sys/leases/lookup/${prefix}?list=true&limit=1`, { token: filled.rootToken });
        const first = listed.body?.data?.keys?.[0];
        if (listed.status !== 200 || typeof first !== 'string') return false;
      }
      return true;
    });
    const unsealToTrackedMs = performance.now() - unsealStarted;
    const rssUnsealed = residentBytes(server.child.pid!);

    // Revoke one prefix while unrelated reads run.
    const revokeStarted = performance.now();
    const revoke = callApiOk(server.url, 'PUT', `sys/leases/revoke-prefix/${REVOKE_PREFIX}`, { token: filled.rootToken });
    const reads = await readWhile(server.url, filled.rootToken, revoke.catch(() => undefined));
    await revoke;
    const revokeMs = performance.now() - revokeStarted;

    return {
      count: options.count,
      createMs: filled.createMs,
      storageBytesPerLease: bytes / options.count,
      unsealToServingMs,
      unsealToTrackedMs,
      rssSealedBytes: rssSealed,
      rssUnsealedBytes: rssUnsealed,
      // An upper bound, because the difference also contains everything else loaded at unseal.
      memoryBytesPerLease: Math.max(0, rssUnsealed - rssSealed) / options.count,
      revokePrefixCount: revokeCount,
      revokePrefixMs: revokeMs,
      readsDuringRevoke: reads.latenciesMs.length,
      readErrorsDuringRevoke: reads.errors,
      readP99DuringRevokeMs: percentile(reads.latenciesMs, 0.99),
    };
  } finally {
    await server?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

function verdict(value: number, limit: number): string {
  return value < limit ? 'met' : 'not met';
}

async function main(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  let createLeases: CreateLeases;
  try {
    createLeases = await findLeaseWiring();
  } catch (err) {
    if (!(err instanceof NotAvailableError)) throw err;
    process.stderr.write(`bench:leases: lease wiring not available yet: ${err.message}. Nothing was measured.\n`);
    return EXIT_NOT_AVAILABLE;
  }
  if (options.build === 'dist' && !options.skipBuild) buildDist();

  const result = await measure(options, createLeases);
  const rows = [
    ['unseal to first KV read', `${result.unsealToServingMs.toFixed(0)} ms`, `< ${TARGETS.unsealToServingMs} ms`, verdict(result.unsealToServingMs, TARGETS.unsealToServingMs)],
    ['unseal to leases answering', `${result.unsealToTrackedMs.toFixed(0)} ms`, '-', '-'],
    ['memory per idle lease', `${result.memoryBytesPerLease.toFixed(0)} B`, `< ${TARGETS.bytesPerIdleLease} B`, verdict(result.memoryBytesPerLease, TARGETS.bytesPerIdleLease)],
    ['storage per lease', `${result.storageBytesPerLease.toFixed(0)} B`, '-', '-'],
    [`revoke-prefix of ${result.revokePrefixCount}`, `${result.revokePrefixMs.toFixed(0)} ms`, '-', '-'],
    ['p99 of KV reads during it', `${result.readP99DuringRevokeMs.toFixed(1)} ms`, `< ${TARGETS.readP99DuringRevokeMs} ms`, verdict(result.readP99DuringRevokeMs, TARGETS.readP99DuringRevokeMs)],
  ];
  process.stdout.write(['| measure | value | target | met |', '|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n') + '\n');
  if (result.readErrorsDuringRevoke > 0) process.stdout.write(`${result.readErrorsDuringRevoke} KV reads failed during the revocation\n`);

  const outputPath = options.output ?? join(REPO_ROOT, 'bench/results', `leases-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(outputPath), { recursive: true });
  writeFileSync(outputPath, JSON.stringify({ machine: describeMachine(), build: options.build, targets: TARGETS, result }, null, 2) + '\n');
  process.stdout.write(`results: ${outputPath}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench:leases: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
