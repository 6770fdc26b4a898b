import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { createTransitBackend, type TransitOptions } from '../../../src/engines/transit/index.js';
import { BackendRouter } from '../../../src/framework/backend.js';
import type { Backend, BackendContext, LogicalRequest, LogicalResponse, Operation } from '../../../src/framework/types.js';
import { InmemPhysical } from '../../../src/storage/inmem.js';
import { StorageView, type Storage } from '../../../src/storage/storage.js';

export interface TransitHarness {
  /** Sends one request to the mount-relative `path`; a write runs as create or update as the existence check decides. */
  request(operation: Operation, path: string, data?: Record<string, unknown>, query?: Record<string, string>): Promise<LogicalResponse | null>;
  /** Sends a write as the update operation only, as a token without the create capability would. */
  update(path: string, data?: Record<string, unknown>): Promise<LogicalResponse | null>;
  /** Shorthand for a write that returns the response data. */
  write(path: string, data?: Record<string, unknown>): Promise<Record<string, any>>;
  read(path: string, query?: Record<string, string>): Promise<Record<string, any>>;
  backend: Backend;
  storage: Storage;
  close(): Promise<void>;
}

/** Mounts a transit backend at `transit/` over in-memory storage (or the given storage) and initializes it. */
export async function mountTransit(options: TransitOptions = {}, storage: Storage = new StorageView(new InmemPhysical(), 'transit/')): Promise<TransitHarness> {
  const context: BackendContext = {
    storage,
    logger: pino({ level: 'silent' }),
    system: { defaultLeaseTtl: () => 2764800, maxLeaseTtl: () => 2764800 },
    mountPoint: 'transit/',
    mountType: 'transit',
    options: {},
  };
  const backend = createTransitBackend(context, options);
  await backend.initialize?.();
  const router = new BackendRouter(backend, context);

  function buildRequest(operation: Operation, path: string, data: Record<string, unknown>, query: Record<string, string>): LogicalRequest {
    return {
      id: randomUUID(),
      operation,
      path: `transit/${path}`,
      data: { ...query, ...data },
      query,
      headers: {},
      remoteAddress: '127.0.0.1',
      mountPoint: 'transit/',
      mountRelativePath: path,
      mountType: 'transit',
    };
  }

  async function request(operation: Operation, path: string, data: Record<string, unknown> = {}, query: Record<string, string> = {}) {
    const routed = router.route(buildRequest(operation, path, data, query), path);
    const op = operation === 'create' || operation === 'update' ? await router.resolveWrite(routed) : operation;
    return router.handle(routed, op);
  }

  async function update(path: string, data: Record<string, unknown> = {}) {
    const routed = router.route(buildRequest('update', path, data, {}), path);
    return router.handle(routed, 'update');
  }

  return {
    request,
    update,
    write: async (path, data = {}) => (await request('update', path, data))?.data ?? {},
    read: async (path, query = {}) => (await request('read', path, {}, query))?.data ?? {},
    backend,
    storage,
    close: async () => backend.cleanup?.(),
  };
}

/** Base64 of a UTF-8 string. */
export function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
