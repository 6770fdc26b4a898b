import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { kvBackend } from '../../../src/engines/kv/index.js';
import { BackendRouter } from '../../../src/framework/backend.js';
import type { BackendContext, LogicalRequest, LogicalResponse, Operation } from '../../../src/framework/types.js';
import { InmemPhysical } from '../../../src/storage/inmem.js';
import { StorageView, type Storage } from '../../../src/storage/storage.js';

export interface KvHarness {
  /** Sends one request to the mount-relative `path`, resolving a write to create or update. */
  request(
    operation: Operation,
    path: string,
    options?: { data?: Record<string, unknown>; query?: Record<string, string> },
  ): Promise<LogicalResponse | null>;
  /** Returns what the path's existence check makes of a write: `create` or `update`. */
  writeKind(path: string): Promise<'create' | 'update'>;
  storage: Storage;
  context: BackendContext;
}

/** Mounts a KV backend at `secret/` over fresh in-memory storage and routes requests through it. */
export async function mountKv(
  options: Record<string, string> = {},
  storage: Storage = new StorageView(new InmemPhysical(), 'kv/'),
): Promise<KvHarness> {
  const context: BackendContext = {
    storage,
    logger: pino({ level: 'silent' }),
    system: { defaultLeaseTtl: () => 2764800, maxLeaseTtl: () => 2764800 },
    mountPoint: 'secret/',
    mountType: 'kv',
    options,
  };
  const router = new BackendRouter(await kvBackend(context), context);

  function buildRequest(operation: Operation, path: string, data: Record<string, unknown>, query: Record<string, string>) {
    const req: LogicalRequest = {
      id: randomUUID(),
      operation,
      path: `secret/${path}`,
      data: { ...query, ...data },
      query,
      headers: {},
      remoteAddress: '127.0.0.1',
      mountPoint: 'secret/',
      mountRelativePath: path,
      mountType: 'kv',
    };
    return req;
  }

  async function request(
    operation: Operation,
    path: string,
    { data = {}, query = {} }: { data?: Record<string, unknown>; query?: Record<string, string> } = {},
  ): Promise<LogicalResponse | null> {
    const routed = router.route(buildRequest(operation, path, data, query), path);
    const op = operation === 'create' || operation === 'update' ? await router.resolveWrite(routed) : operation;
    return router.handle(routed, op);
  }

  async function writeKind(path: string): Promise<'create' | 'update'> {
    return router.resolveWrite(router.route(buildRequest('update', path, {}, {}), path));
  }

  return { request, writeKind, storage, context };
}

/** Reads every entry under the storage view, keyed by its full key, to compare before and after. */
export async function snapshot(storage: Storage, prefix = ''): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  for (const child of await storage.list(prefix)) {
    const key = prefix + child;
    if (child.endsWith('/')) {
      for (const [k, v] of await snapshot(storage, key)) entries.set(k, v);
    } else {
      entries.set(key, (await storage.get(key))?.toString('utf8') ?? '');
    }
  }
  return entries;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
