import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { AuditBroker } from '../../../src/core/audit/broker.js';
import { auditPaths } from '../../../src/core/audit/paths.js';
import { BackendRouter } from '../../../src/framework/backend.js';
import type { LogicalRequest, LogicalResponse, Operation } from '../../../src/framework/types.js';
import { InmemPhysical } from '../../../src/storage/inmem.js';
import { StorageView } from '../../../src/storage/storage.js';

const logger = pino({ level: 'silent' });
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coffer-audit-paths-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function setup(): { broker: AuditBroker; call: (op: Operation, path: string, data?: Record<string, unknown>) => Promise<LogicalResponse | null> } {
  const physical = new InmemPhysical();
  const broker = new AuditBroker(new StorageView(physical, 'core/audit/'), logger);
  const router = new BackendRouter(
    { paths: auditPaths(broker) },
    {
      storage: new StorageView(physical, 'sys/'),
      logger,
      system: { defaultLeaseTtl: () => 2764800, maxLeaseTtl: () => 2764800 },
      mountPoint: 'sys/',
      mountType: 'system',
      options: {},
    },
  );
  const call = async (op: Operation, path: string, data: Record<string, unknown> = {}) => {
    const req: LogicalRequest = {
      id: 'req-1',
      operation: op,
      path: 'sys/' + path,
      data,
      query: {},
      headers: {},
      remoteAddress: '127.0.0.1',
    };
    return router.handle(router.route(req, path), op);
  };
  return { broker, call };
}

describe('sys/audit paths', () => {
  it('enables, lists and disables', async () => {
    const { broker, call } = setup();
    const file = join(dir, 'enable.log');
    const enabled = await call('update', 'audit/file', {
      type: 'file',
      description: 'main',
      options: { file_path: file, log_raw: false },
    });
    assert.equal(enabled, null);

    const listed = await call('read', 'audit');
    assert.equal(listed?.mirrorDataAtTopLevel, true);
    assert.deepEqual(listed?.data, {
      'file/': { path: 'file/', type: 'file', description: 'main', options: { file_path: file, log_raw: 'false' }, local: false },
    });

    await call('delete', 'audit/file');
    assert.deepEqual((await call('read', 'audit'))?.data, {});
    await broker.close();
  });

  it('stores nested paths with trailing slash', async () => {
    const { broker, call } = setup();
    await call('update', 'audit/team/a', { type: 'file', options: { file_path: 'discard' } });
    assert.deepEqual(Object.keys((await call('read', 'audit'))?.data ?? {}), ['team/a/']);
    await broker.close();
  });

  it('rejects an unknown type', async () => {
    const { call } = setup();
    await assert.rejects(call('update', 'audit/x', { type: 'syslog' }), { status: 400, message: /file, socket/ });
  });

  it('rejects a missing type', async () => {
    const { call } = setup();
    await assert.rejects(call('update', 'audit/x', { options: { file_path: 'discard' } }), { status: 400, message: /type/ });
  });

  it('rejects an object option value', async () => {
    const { call } = setup();
    await assert.rejects(call('update', 'audit/x', { type: 'file', options: { file_path: { a: 1 } } }), {
      status: 400,
      message: /file_path/,
    });
  });

  it('rejects a path enabled twice', async () => {
    const { broker, call } = setup();
    await call('update', 'audit/file', { type: 'file', options: { file_path: 'discard' } });
    await assert.rejects(call('update', 'audit/file', { type: 'file', options: { file_path: 'discard' } }), { status: 400 });
    await broker.close();
  });

  it('audit-hash matches the log', async () => {
    const { broker, call } = setup();
    const file = join(dir, 'hash.log');
    await call('update', 'audit/file', { type: 'file', options: { file_path: file } });
    const req: LogicalRequest = {
      id: 'req-2',
      operation: 'update',
      path: 'secret/app',
      data: { password: 'hunter2' },
      query: {},
      headers: {},
      remoteAddress: '127.0.0.1',
    };
    await broker.logRequest({ req });

    const hashed = await call('update', 'audit-hash/file', { input: 'hunter2' });
    assert.match(String(hashed?.data?.hash), /^hmac-sha256:[0-9a-f]{64}$/);
    const line = JSON.parse((await readFile(file, 'utf8')).trim());
    assert.equal(line.request.data.password, hashed?.data?.hash);
    await broker.close();
  });

  it('audit-hash of unknown device is 400', async () => {
    const { call } = setup();
    await assert.rejects(call('update', 'audit-hash/none', { input: 'x' }), { status: 400 });
  });

  it('audit-hash requires input', async () => {
    const { broker, call } = setup();
    await call('update', 'audit/file', { type: 'file', options: { file_path: 'discard' } });
    await assert.rejects(call('update', 'audit-hash/file', {}), { status: 400, message: /input/ });
    await broker.close();
  });
});
