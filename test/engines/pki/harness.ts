import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { pkiBackend } from '../../../src/engines/pki/index.js';
import { BackendRouter } from '../../../src/framework/backend.js';
import type { Backend, BackendContext, LogicalRequest, LogicalResponse, Operation } from '../../../src/framework/types.js';
import { InmemPhysical } from '../../../src/storage/inmem.js';
import { StorageView, type Storage } from '../../../src/storage/storage.js';

/** Ten years, so CA certificates outlive every leaf a test asks for. */
export const LONG_TTL = 10 * 365 * 24 * 3600;

export interface PkiHarness {
  /** Sends one request to the mount-relative `path`. */
  request(operation: Operation, path: string, data?: Record<string, unknown>, extra?: Partial<LogicalRequest>): Promise<LogicalResponse | null>;
  /** Like `request`, but returns `data` and fails when there is none. */
  write(path: string, data?: Record<string, unknown>): Promise<Record<string, any>>;
  read(path: string): Promise<Record<string, any>>;
  backend: Backend;
  storage: Storage;
  context: BackendContext;
}

/** Mounts a PKI backend at `pki/` over fresh in-memory storage with a ten-year max TTL. */
export async function mountPki(): Promise<PkiHarness> {
  const storage = new StorageView(new InmemPhysical(), 'pki/');
  const context: BackendContext = {
    storage,
    logger: pino({ level: 'silent' }),
    system: { defaultLeaseTtl: () => 2764800, maxLeaseTtl: () => LONG_TTL },
    mountPoint: 'pki/',
    mountType: 'pki',
    options: {},
  };
  const backend = await pkiBackend(context);
  const router = new BackendRouter(backend, context);

  async function request(operation: Operation, path: string, data: Record<string, unknown> = {}, extra: Partial<LogicalRequest> = {}) {
    const req: LogicalRequest = {
      id: randomUUID(),
      operation,
      path: `pki/${path}`,
      data,
      query: {},
      headers: {},
      remoteAddress: '127.0.0.1',
      mountPoint: 'pki/',
      mountRelativePath: path,
      mountType: 'pki',
      ...extra,
    };
    const routed = router.route(req, path);
    const op = operation === 'update' ? await router.resolveWrite(routed) : operation;
    return router.handle(routed, op);
  }

  async function write(path: string, data: Record<string, unknown> = {}) {
    const response = await request('update', path, data);
    if (!response?.data) throw new Error(`no data from ${path}: ${JSON.stringify(response)}`);
    return response.data as Record<string, any>;
  }

  async function read(path: string) {
    const response = await request('read', path);
    if (!response?.data) throw new Error(`no data from ${path}: ${JSON.stringify(response)}`);
    return response.data as Record<string, any>;
  }

  return { request, write, read, backend, storage, context };
}
