import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import pino from 'pino';
import { kvBackend } from '../../../src/engines/kv/index.js';
import { CheckAndSetError } from '../../../src/errors.js';
import { BackendRouter } from '../../../src/framework/backend.js';
import type { BackendContext, LogicalRequest, Operation } from '../../../src/framework/types.js';
import { InmemPhysical } from '../../../src/storage/inmem.js';
import { StorageView } from '../../../src/storage/storage.js';

/** A storage view that counts reads by key prefix (`config`, `metadata/`, `versions/`). */
class CountingStorage extends StorageView {
  readonly reads = new Map<string, number>();

  override get(key: string): Promise<Buffer | null> {
    const kind = key === 'config' ? 'config' : key.slice(0, key.indexOf('/') + 1);
    this.reads.set(kind, (this.reads.get(kind) ?? 0) + 1);
    return super.get(key);
  }

  resetReads(): void {
    this.reads.clear();
  }
}

async function mountCountedKv() {
  const storage = new CountingStorage(new InmemPhysical(), 'kv/');
  const context: BackendContext = {
    storage,
    logger: pino({ level: 'silent' }),
    system: { defaultLeaseTtl: () => 2764800, maxLeaseTtl: () => 2764800 },
    mountPoint: 'secret/',
    mountType: 'kv',
    options: { version: '2' },
  };
  const router = new BackendRouter(await kvBackend(context), context);

  /** Routes a request and runs its existence check, leaving the handler for later. */
  async function begin(operation: Operation, path: string, data: Record<string, unknown> = {}) {
    const req: LogicalRequest = {
      id: randomUUID(),
      operation,
      path: `secret/${path}`,
      data,
      query: {},
      headers: {},
      remoteAddress: '127.0.0.1',
      mountPoint: 'secret/',
      mountRelativePath: path,
      mountType: 'kv',
    };
    const routed = router.route(req, path);
    const op = operation === 'update' ? await router.resolveWrite(routed) : operation;
    return { finish: () => router.handle(routed, op) };
  }

  async function send(operation: Operation, path: string, data: Record<string, unknown> = {}) {
    return (await begin(operation, path, data)).finish();
  }

  return { storage, begin, send };
}

describe('kv v2 read caching', () => {
  it('write reads metadata once and config never', async () => {
    const kv = await mountCountedKv();
    await kv.send('update', 'data/app', { data: { v: 1 } });
    kv.storage.resetReads();

    await kv.send('update', 'data/app', { data: { v: 2 } });
    assert.equal(kv.storage.reads.get('metadata/'), 1);
    assert.equal(kv.storage.reads.get('config') ?? 0, 0);
    assert.equal(kv.storage.reads.get('versions/') ?? 0, 0);
  });

  it('config write applies to next write', async () => {
    const kv = await mountCountedKv();
    await kv.send('update', 'data/app', { data: { v: 1 } });

    await kv.send('update', 'config', { cas_required: true, max_versions: 2 });
    await assert.rejects(kv.send('update', 'data/app', { data: { v: 2 } }), /check-and-set parameter required/);
    await kv.send('update', 'data/app', { data: { v: 2 }, options: { cas: 1 } });
    await kv.send('update', 'data/app', { data: { v: 3 }, options: { cas: 2 } });
    const meta = await kv.send('read', 'metadata/app');
    assert.deepEqual(Object.keys(meta?.data?.versions as object), ['2', '3']);

    await kv.send('update', 'config', { cas_required: false });
    await kv.send('update', 'data/app', { data: { v: 4 } });
    const config = await kv.send('read', 'config');
    assert.equal(config?.data?.cas_required, false);
    assert.equal(config?.data?.max_versions, 2);
  });

  it('existence check result reused when nothing changed', async () => {
    const kv = await mountCountedKv();
    await kv.send('update', 'data/app', { data: { v: 1 } });
    const write = await kv.begin('update', 'data/app', { data: { v: 2 }, options: { cas: 1 } });
    const response = await write.finish();
    assert.equal(response?.data?.version, 2);
  });

  it('existence check result dropped after another write', async () => {
    const kv = await mountCountedKv();
    await kv.send('update', 'data/app', { data: { v: 1 } });

    // The check-and-set below was prepared against version 1, but version 2 lands first.
    const stale = await kv.begin('update', 'data/app', { data: { v: 'stale' }, options: { cas: 1 } });
    await kv.send('update', 'data/app', { data: { v: 2 } });
    await assert.rejects(stale.finish(), CheckAndSetError);

    const read = await kv.send('read', 'data/app');
    assert.deepEqual(read?.data?.data, { v: 2 });
  });

  it('metadata write after delete creates fresh metadata', async () => {
    const kv = await mountCountedKv();
    await kv.send('update', 'data/app', { data: { v: 1 } });

    const settings = await kv.begin('update', 'metadata/app', { max_versions: 3 });
    await kv.send('delete', 'metadata/app');
    await settings.finish();

    const meta = await kv.send('read', 'metadata/app');
    assert.equal(meta?.data?.max_versions, 3);
    assert.equal(meta?.data?.current_version, 0, 'the deleted versions are not restored');
  });
});
