import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { BackendRouter } from '../../src/framework/backend.js';
import type { Backend, BackendContext, BackendFactory, LogicalRequest, LogicalResponse, Operation } from '../../src/framework/types.js';
import { InmemPhysical } from '../../src/storage/inmem.js';
import { StorageView, type Storage } from '../../src/storage/storage.js';

export interface RequestOptions {
  data?: Record<string, unknown>;
  query?: Record<string, string>;
  remoteAddress?: string;
}

export interface AuthHarness<B extends Backend> {
  backend: B;
  storage: Storage;
  context: BackendContext;
  /** Sends one request to the mount-relative `path`, resolving a write to create or update. */
  request(operation: Operation, path: string, options?: RequestOptions): Promise<LogicalResponse | null>;
  /** Returns what the path's existence check makes of a write: `create` or `update`. */
  writeKind(path: string): Promise<'create' | 'update'>;
}

/** Mounts an auth backend at `auth/MOUNT/` over fresh in-memory storage. */
export async function mountAuth<B extends Backend>(factory: BackendFactory, mountType: string): Promise<AuthHarness<B>> {
  const storage = new StorageView(new InmemPhysical(), `auth/${mountType}/`);
  const context: BackendContext = {
    storage,
    logger: pino({ level: 'silent' }),
    system: { defaultLeaseTtl: () => 2764800, maxLeaseTtl: () => 2764800 },
    mountPoint: `auth/${mountType}/`,
    mountType,
    options: {},
  };
  const backend = (await factory(context)) as B;
  const router = new BackendRouter(backend, context);

  function buildRequest(operation: Operation, path: string, options: RequestOptions): LogicalRequest {
    const query = options.query ?? {};
    return {
      id: randomUUID(),
      operation,
      path: `auth/${mountType}/${path}`,
      data: { ...query, ...(options.data ?? {}) },
      query,
      headers: {},
      remoteAddress: options.remoteAddress ?? '127.0.0.1',
      mountPoint: `auth/${mountType}/`,
      mountRelativePath: path,
      mountType,
    };
  }

  async function request(operation: Operation, path: string, options: RequestOptions = {}) {
    const routed = router.route(buildRequest(operation, path, options), path);
    const op = operation === 'create' || operation === 'update' ? await router.resolveWrite(routed) : operation;
    return router.handle(routed, op);
  }

  async function writeKind(path: string) {
    return router.resolveWrite(router.route(buildRequest('update', path, {}), path));
  }

  return { backend, storage, context, request, writeKind };
}

/** Reads every entry under the storage view, keyed by its full key, to compare before and after. */
export async function snapshot(storage: Storage, prefix = ''): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  for (const child of await storage.list(prefix)) {
    const key = prefix + child;
    if (child.endsWith('/')) {
      for (const [k, v] of await snapshot(storage, key)) entries.set(k, v);
    } else {
      entries.set(key, (await storage.get(key))?.toString('base64') ?? '');
    }
  }
  return entries;
}

/** Every malformed TTL the write paths must reject with 400. */
export const MALFORMED_TTLS: unknown[] = ['-1s', '10x', '-5', 1e12, '99999999999999h', 1.5, 'abc', true];
