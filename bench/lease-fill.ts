// Fills a new Coffer server with leases for `leases.ts`. The server runs in this process so that
// a million requests need no HTTP round trips, but each lease still comes from a request through
// `core.handleRequest`: the same pipeline, token check, ACL and lease registration as a read of a
// dynamic secret over HTTP.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { Core } from '../src/core/core.js';
import type { LogicalRequest } from '../src/framework/types.js';
import { callApiOk, initialize, unseal } from './coffer-api.js';

/** Mount of the `lease-test` engine that issues the leases. */
export const LEASE_MOUNT = 'lease-bench/';
/** KV v2 secret that the measurements read. */
export const PROBE_PATH = 'secret/data/lease-bench-probe';
/** Lease ID prefixes: leases that stay, and leases that revoke-prefix removes. */
export const KEEP_PREFIX = `${LEASE_MOUNT}creds/keep/`;
export const REVOKE_PREFIX = `${LEASE_MOUNT}creds/revoke/`;

/** Leases expire at a random time from 1 h to 25 h after creation, so none expires during a run. */
const MIN_TTL_SECONDS = 3600;
const TTL_SPREAD_SECONDS = 24 * 3600;

export interface FillOptions {
  configPath: string;
  keepCount: number;
  revokeCount: number;
  /** Requests in flight at once. */
  concurrency: number;
}

export interface FillResult {
  keys: string[];
  rootToken: string;
  /** Milliseconds spent creating the leases, setup excluded. */
  createMs: number;
  /** One lease ID of each prefix, looked up after the restart. */
  sampleKeepLeaseId: string;
  sampleRevokeLeaseId: string;
}

/**
 * Starts a server in this process on the config's SQLite storage, initializes and unseals it,
 * mounts KV v2 at `secret/` with the probe secret and `lease-test` at `lease-bench/`, creates the
 * leases and closes the server.
 */
export async function fillServer(options: FillOptions): Promise<FillResult> {
  // The lease-test engine is registered when core's mount module is first evaluated, so the
  // variable must be set before the server modules are imported.
  process.env.COFFER_ENABLE_TEST_ENGINES = '1';
  const { startServer } = await import('../src/server.js');
  const { loadConfig } = await import('../src/config/load.js');

  const server = await startServer(await loadConfig(options.configPath), { logger: pino({ level: 'silent' }) });
  try {
    const url = `http://${server.addresses[0]}`;
    const { keys, rootToken } = await initialize(url);
    await unseal(url, keys);
    await callApiOk(url, 'POST', 'sys/mounts/secret', { token: rootToken, body: { type: 'kv', options: { version: '2' } } });
    await callApiOk(url, 'POST', PROBE_PATH, { token: rootToken, body: { data: { value: 'probe' } } });
    await callApiOk(url, 'POST', `sys/mounts/${LEASE_MOUNT}`, { token: rootToken, body: { type: 'lease-test' } });

    const started = performance.now();
    const progress = new Progress(options.keepCount + options.revokeCount);
    const sampleKeepLeaseId = await createLeases(server.core, rootToken, 'keep', options.keepCount, options.concurrency, progress);
    const sampleRevokeLeaseId = await createLeases(server.core, rootToken, 'revoke', options.revokeCount, options.concurrency, progress);
    return { keys, rootToken, createMs: performance.now() - started, sampleKeepLeaseId, sampleRevokeLeaseId };
  } finally {
    await server.close();
  }
}

/** Reads `lease-bench/creds/NAME` `count` times; returns the first lease ID. */
async function createLeases(core: Core, token: string, name: string, count: number, concurrency: number, progress: Progress): Promise<string> {
  let next = 0;
  let sample = '';
  let failed = false;
  const worker = async () => {
    while (next < count && !failed) {
      next++;
      const ttl = MIN_TTL_SECONDS + Math.floor(Math.random() * TTL_SPREAD_SECONDS);
      const answer = await core.handleRequest(credsRequest(token, name, ttl)).catch((err: unknown) => {
        failed = true;
        throw err;
      });
      const leaseId = (answer.body as { lease_id?: unknown } | null)?.lease_id;
      if (answer.status !== 200 || typeof leaseId !== 'string' || leaseId === '') {
        failed = true;
        throw new Error(`creating a lease under ${LEASE_MOUNT}creds/${name} returned status ${answer.status} without a lease ID`);
      }
      sample ||= leaseId;
      progress.add();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return sample;
}

function credsRequest(token: string, name: string, ttlSeconds: number): LogicalRequest {
  const query = { ttl: `${ttlSeconds}s` };
  return {
    id: randomUUID(),
    operation: 'read',
    path: `${LEASE_MOUNT}creds/${name}`,
    data: { ...query },
    query,
    headers: {},
    clientToken: token,
    remoteAddress: '127.0.0.1',
  };
}

/** Prints the share of leases created, in steps of 10%, to stderr. */
class Progress {
  private done = 0;
  private readonly started = performance.now();

  constructor(private readonly total: number) {}

  add(): void {
    this.done++;
    const step = Math.max(1, Math.floor(this.total / 10));
    if (this.done % step !== 0 && this.done !== this.total) return;
    const seconds = (performance.now() - this.started) / 1000;
    process.stderr.write(`  ${this.done} of ${this.total} leases created in ${seconds.toFixed(0)} s (${(this.done / seconds).toFixed(0)}/s)\n`);
  }
}
