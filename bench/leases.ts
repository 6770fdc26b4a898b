// Measures how Coffer behaves with many leases: unseal-to-serving time, memory and storage per
// lease, and the latency of unrelated reads while a prefix of leases is revoked.
// Usage: npm run bench:leases -- --count N [options]; run with --help for every option.
//
// The leases are created in this process through the request pipeline (see lease-fill.ts). The
// measurements then run against the same storage in a separate server process.
import { request } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { callApi, callApiOk } from './coffer-api.js';
import { fillServer, KEEP_PREFIX, PROBE_PATH, REVOKE_PREFIX, type FillResult } from './lease-fill.js';
import { buildDist, REPO_ROOT, startCofferProcess, writeCofferConfig, type CofferBuild, type ServerProcess } from './processes.js';
import { describeMachine } from './report.js';

const USAGE = `Usage: npm run bench:leases -- --count N [options]

Creates N leases of a test secrets engine through the request pipeline on SQLite storage,
restarts the server as a separate process, unseals it, and measures unseal-to-serving time,
memory and storage per lease, and KV read latency during a revoke-prefix of min(100000, N/10)
leases.

Options:
  --count N                leases to create, 10 or more (required)
  --concurrency N          lease-creating requests in flight at once (default 64)
  --baseline-seconds S     length of the KV read loop before the revocation (default 3)
  --source                 run the server from src/ through tsx instead of building dist/
  --skip-build             run dist/ as it is, without building it first
  --output FILE            write the JSON results to FILE instead of bench/results/leases-<time>.json
  --help                   print this help`;

const TARGETS = { unsealToServingMs: 2000, bytesPerIdleLease: 1024, readP99DuringRevokeMs: 50 };
/** Message the expiration manager logs once its first expiry window after unseal is in memory. */
const WINDOW_LOADED_MESSAGE = 'lease expiry window loaded';
const READ_CONCURRENCY = 4;

interface Options {
  count: number;
  concurrency: number;
  baselineSeconds: number;
  build: CofferBuild;
  skipBuild: boolean;
  output?: string;
}

function wholeNumber(flag: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < min) throw new Error(`invalid --${flag} ${JSON.stringify(value)}: expected a whole number, ${min} or more`);
  return parsed;
}

function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      count: { type: 'string' },
      concurrency: { type: 'string' },
      'baseline-seconds': { type: 'string' },
      source: { type: 'boolean', default: false },
      'skip-build': { type: 'boolean', default: false },
      output: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return null;
  if (values.count === undefined) throw new Error('missing --count: pass the number of leases, e.g. --count 1000000');
  const baselineSeconds = Number(values['baseline-seconds'] ?? 3);
  if (!Number.isFinite(baselineSeconds) || baselineSeconds <= 0) {
    throw new Error(`invalid --baseline-seconds ${JSON.stringify(values['baseline-seconds'])}: expected a positive number`);
  }
  return {
    count: wholeNumber('count', values.count, 0, 10),
    concurrency: wholeNumber('concurrency', values.concurrency, 64, 1),
    baselineSeconds,
    build: values.source ? 'source' : 'dist',
    skipBuild: values['skip-build']!,
    output: values.output,
  };
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

async function pollUntil<T>(what: string, timeoutMs: number, check: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Finds the manager's window-loaded log line in the server's output; null until it is there. */
function findWindowLoaded(output: string): { trackedLeases: number; elapsedMs: number; time: number } | null {
  for (const line of output.split('\n')) {
    if (!line.includes(WINDOW_LOADED_MESSAGE)) continue;
    // The server logs `time` as an ISO 8601 string.
    const entry = JSON.parse(line) as { tracked_leases: number; elapsed_ms: number; time: string };
    return { trackedLeases: entry.tracked_leases, elapsedMs: entry.elapsed_ms, time: Date.parse(entry.time) };
  }
  return null;
}

/**
 * Submits unseal key shares and returns when the share that unsealed the server was sent, as
 * `performance.now()` and as milliseconds since the epoch (the clock of the server's log).
 */
async function unsealTimed(url: string, keys: string[]): Promise<{ sentAt: number; sentAtEpochMs: number }> {
  for (const key of keys) {
    const sent = { sentAt: performance.now(), sentAtEpochMs: Date.now() };
    const body = await callApiOk(url, 'PUT', 'sys/unseal', { body: { key } });
    if (body.sealed === false) return sent;
  }
  throw new Error(`server is still sealed after ${keys.length} unseal key shares`);
}

/**
 * Sends a PUT with node:http, which unlike fetch sets no time limit on the response headers, so a
 * revocation of many leases can take as long as it needs.
 */
function putWithoutTimeout(url: string, path: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/${path}`, { method: 'PUT', headers: { 'X-Vault-Token': token, 'content-length': '0' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Reads the probe secret on `READ_CONCURRENCY` loops until `stop` settles. */
async function readWhile(url: string, token: string, stop: Promise<unknown>): Promise<{ latenciesMs: number[]; errors: number }> {
  let done = false;
  void stop.finally(() => (done = true)).catch(() => undefined);
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
  await Promise.all(Array.from({ length: READ_CONCURRENCY }, reader));
  return { latenciesMs, errors };
}

function percentile(values: number[], fraction: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

/** Looks up one lease by ID; returns true when the server has a lease with that ID. */
async function leaseExists(url: string, token: string, leaseId: string): Promise<boolean> {
  const response = await callApi(url, 'PUT', 'sys/leases/lookup', { token, body: { lease_id: leaseId } });
  if (response.status === 200) return true;
  if (response.status === 400) return false;
  throw new Error(`sys/leases/lookup returned status ${response.status}`);
}

/** Unseals a server just restarted on the filled storage, and measures its way back to serving. */
async function measureRestart(server: ServerProcess, filled: FillResult) {
  const { url } = server;
  const token = filled.rootToken;
  const rssSealedBytes = residentBytes(server.child.pid!);

  const { sentAt: unsealSentAt, sentAtEpochMs } = await unsealTimed(url, filled.keys);
  await pollUntil('the first KV read', 600_000, async () => ((await callApi(url, 'GET', PROBE_PATH, { token })).status === 200 ? true : null));
  const unsealToServingMs = performance.now() - unsealSentAt;
  await pollUntil('a lease lookup', 600_000, async () => ((await leaseExists(url, token, filled.sampleKeepLeaseId)) ? true : null));
  const unsealToLeaseLookupMs = performance.now() - unsealSentAt;
  const window = await pollUntil('the expiry window log line', 600_000, async () => findWindowLoaded(server.output()));
  // The log's time has millisecond resolution, so this can be a millisecond early.
  const unsealToWindowLoadedMs = Math.max(0, window.time - sentAtEpochMs);

  // Give the process a moment to settle before reading its idle memory.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const rssUnsealedBytes = residentBytes(server.child.pid!);
  return { rssSealedBytes, rssUnsealedBytes, unsealToServingMs, unsealToLeaseLookupMs, unsealToWindowLoadedMs, window };
}

/** Revokes the revoke prefix while unrelated KV reads run, and checks what is left. */
async function measureRevocation(server: ServerProcess, filled: FillResult, baselineSeconds: number) {
  const { url } = server;
  const token = filled.rootToken;
  // Warm the read path up first, so the baseline does not measure a cold server.
  const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  await readWhile(url, token, sleep(Math.min(1, baselineSeconds)));
  const baseline = await readWhile(url, token, sleep(baselineSeconds));

  const revokeStarted = performance.now();
  const revoke = putWithoutTimeout(url, `sys/leases/revoke-prefix/${REVOKE_PREFIX}`, token);
  const reads = await readWhile(url, token, revoke);
  const revoked = await revoke;
  const revokePrefixMs = performance.now() - revokeStarted;
  if (revoked.status !== 204 && revoked.status !== 200) throw new Error(`revoke-prefix returned status ${revoked.status}: ${revoked.body.slice(0, 500)}`);

  const left = await callApi(url, 'GET', `sys/leases/lookup/${REVOKE_PREFIX}?list=true`, { token });
  if (left.status !== 404) throw new Error(`leases are left under ${REVOKE_PREFIX} after revoke-prefix (list returned status ${left.status})`);
  if (await leaseExists(url, token, filled.sampleRevokeLeaseId)) throw new Error('a revoked lease can still be looked up');
  if (!(await leaseExists(url, token, filled.sampleKeepLeaseId))) throw new Error(`revoke-prefix removed a lease outside ${REVOKE_PREFIX}`);

  return {
    revokePrefixMs,
    readsBefore: baseline.latenciesMs.length,
    readErrorsBefore: baseline.errors,
    readP99BeforeMs: percentile(baseline.latenciesMs, 0.99),
    readsDuringRevoke: reads.latenciesMs.length,
    readErrorsDuringRevoke: reads.errors,
    readP50DuringRevokeMs: percentile(reads.latenciesMs, 0.5),
    readP99DuringRevokeMs: percentile(reads.latenciesMs, 0.99),
    readMaxDuringRevokeMs: Math.max(...reads.latenciesMs),
    rssAfterRevokeBytes: residentBytes(server.child.pid!),
  };
}

async function measure(options: Options) {
  const workDir = mkdtempSync(join(tmpdir(), 'coffer-lease-bench-'));
  let server: ServerProcess | undefined;
  try {
    const port = 0;
    const { configPath, dbPath } = writeCofferConfig(workDir, port);
    const revokeCount = Math.min(100_000, Math.floor(options.count / 10));

    process.stderr.write(`creating ${options.count} leases through the request pipeline ...\n`);
    const filled = await fillServer({ configPath, keepCount: options.count - revokeCount, revokeCount, concurrency: options.concurrency });
    const bytes = storageBytes(dbPath);

    process.stderr.write('restarting the server as a separate process ...\n');
    server = await startCofferProcess({ configPath, port, build: options.build, env: { COFFER_ENABLE_TEST_ENGINES: '1' } });
    const restart = await measureRestart(server, filled);
    process.stderr.write(`revoking ${revokeCount} leases by prefix while reading KV ...\n`);
    const revocation = await measureRevocation(server, filled, options.baselineSeconds);

    return {
      count: options.count,
      createMs: filled.createMs,
      storageBytes: bytes,
      storageBytesPerLease: bytes / options.count,
      ...restart,
      // An upper bound, because the difference also contains everything else loaded at unseal.
      memoryBytesPerLease: Math.max(0, restart.rssUnsealedBytes - restart.rssSealedBytes) / options.count,
      revokePrefixCount: revokeCount,
      ...revocation,
    };
  } catch (err) {
    if (server) process.stderr.write(`last server output:\n${server.output().slice(-4000)}\n`);
    throw err;
  } finally {
    await server?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

type Result = Awaited<ReturnType<typeof measure>>;

function verdict(value: number, limit: number): string {
  return value < limit ? 'met' : 'not met';
}

function formatTable(result: Result): string {
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
  const rows = [
    [`create ${result.count} leases (in-process)`, `${(result.createMs / 1000).toFixed(1)} s`, '-', '-'],
    ['storage per lease', `${result.storageBytesPerLease.toFixed(0)} B`, '-', '-'],
    ['unseal to first KV read', `${result.unsealToServingMs.toFixed(0)} ms`, `< ${TARGETS.unsealToServingMs} ms`, verdict(result.unsealToServingMs, TARGETS.unsealToServingMs)],
    ['unseal to first lease lookup', `${result.unsealToLeaseLookupMs.toFixed(0)} ms`, '-', '-'],
    ['unseal to expiry window loaded', `${result.unsealToWindowLoadedMs.toFixed(0)} ms (${result.window.trackedLeases} leases in it)`, '-', '-'],
    ['RSS sealed / unsealed', `${mib(result.rssSealedBytes)} / ${mib(result.rssUnsealedBytes)}`, '-', '-'],
    ['memory per idle lease', `${result.memoryBytesPerLease.toFixed(1)} B`, `< ${TARGETS.bytesPerIdleLease} B`, verdict(result.memoryBytesPerLease, TARGETS.bytesPerIdleLease)],
    [`revoke-prefix of ${result.revokePrefixCount}`, `${(result.revokePrefixMs / 1000).toFixed(1)} s`, '-', '-'],
    ['KV read p99 before it', `${result.readP99BeforeMs.toFixed(1)} ms`, '-', '-'],
    ['KV read p99 during it', `${result.readP99DuringRevokeMs.toFixed(1)} ms`, `< ${TARGETS.readP99DuringRevokeMs} ms`, verdict(result.readP99DuringRevokeMs, TARGETS.readP99DuringRevokeMs)],
    ['KV read max during it', `${result.readMaxDuringRevokeMs.toFixed(1)} ms`, '-', '-'],
    ['RSS after revoke-prefix', mib(result.rssAfterRevokeBytes), '-', '-'],
  ];
  const lines = ['| measure | value | target | met |', '|---|---|---|---|', ...rows.map((row) => `| ${row.join(' | ')} |`)];
  lines.push(`KV reads: ${result.readsBefore} before the revocation, ${result.readsDuringRevoke} during it; failed: ${result.readErrorsBefore + result.readErrorsDuringRevoke}`);
  return lines.join('\n') + '\n';
}

async function main(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  if (!options) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (options.build === 'dist' && !options.skipBuild) buildDist();

  const result = await measure(options);
  process.stdout.write(formatTable(result));
  const failedReads = result.readErrorsBefore + result.readErrorsDuringRevoke;

  const outputPath = options.output ?? join(REPO_ROOT, 'bench/results', `leases-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(outputPath), { recursive: true });
  const command = `npm run bench:leases -- ${process.argv.slice(2).join(' ')}`;
  writeFileSync(outputPath, JSON.stringify({ machine: describeMachine(), command, build: options.build, targets: TARGETS, result }, null, 2) + '\n');
  process.stdout.write(`results: ${outputPath}\n`);
  if (failedReads > 0) {
    process.stderr.write(`bench:leases: ${failedReads} KV reads failed\n`);
    return 1;
  }
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
