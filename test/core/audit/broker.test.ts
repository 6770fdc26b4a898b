import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, mkdtemp, open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { AuditBroker } from '../../../src/core/audit/broker.js';
import { FileSink } from '../../../src/core/audit/file.js';
import type { LogicalRequest } from '../../../src/framework/types.js';
import { InmemPhysical } from '../../../src/storage/inmem.js';
import { StorageView } from '../../../src/storage/storage.js';

const logger = pino({ level: 'silent' });
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coffer-audit-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function newStorage(): StorageView {
  return new StorageView(new InmemPhysical(), 'core/audit/');
}

let counter = 0;
function logPath(): string {
  counter++;
  return join(dir, `audit-${counter}.log`);
}

function makeRequest(id = 'req-1'): LogicalRequest {
  return {
    id,
    operation: 'update',
    path: 'secret/data/app',
    data: { password: 'hunter2', tags: ['blue'] },
    query: {},
    headers: {},
    clientToken: 'hvs.client-token',
    remoteAddress: '127.0.0.1',
  };
}

async function readLines(path: string): Promise<any[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
}

describe('AuditBroker', () => {
  it('writes a line per request and response', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    const file = logPath();
    await broker.enable('file', { type: 'file', options: { file_path: file } });

    const req = makeRequest();
    await broker.logRequest({ req });
    await broker.logResponse({ req, response: undefined, status: 204 });
    const lines = await readLines(file);
    assert.equal(lines.length, 2);
    assert.equal(lines[0].type, 'request');
    assert.equal(lines[1].type, 'response');
    assert.equal(lines[0].request.data.password, broker.hash('file', 'hunter2'));
    assert.equal(lines[0].request.client_token, broker.hash('file/', 'hvs.client-token'));
    await broker.close();
  });

  it('returns at once with no device', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    await broker.logRequest({ req: makeRequest() });
    await broker.logResponse({ req: makeRequest(), status: 200 });
    assert.deepEqual(broker.list(), []);
  });

  it('creates the file with mode 0600', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    const file = logPath();
    await broker.enable('file', { type: 'file', options: { file_path: file } });
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    await broker.close();
  });

  it('applies the mode option', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    const file = logPath();
    await writeFile(file, '', { mode: 0o644 });
    await broker.enable('file', { type: 'file', options: { file_path: file, mode: '0640' } });
    assert.equal((await stat(file)).mode & 0o777, 0o640);
    await broker.close();
  });

  it('rejects an executable mode', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    await assert.rejects(broker.enable('file', { type: 'file', options: { file_path: logPath(), mode: '0755' } }), {
      status: 400,
      message: /mode/,
    });
  });

  it('rejects a path enabled twice', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    await broker.enable('file', { type: 'file', options: { file_path: logPath() } });
    await assert.rejects(broker.enable('file/', { type: 'file', options: { file_path: logPath() } }), {
      status: 400,
      message: /already in use/,
    });
    await broker.close();
  });

  it('rejects a file that cannot be opened', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    const file = join(dir, 'missing-dir', 'audit.log');
    await assert.rejects(broker.enable('file', { type: 'file', options: { file_path: file } }), (err: any) => {
      assert.equal(err.status, 400);
      assert.ok(err.message.includes('"file/"'), err.message);
      assert.ok(err.message.includes('ENOENT'), err.message);
      return true;
    });
    assert.deepEqual(broker.list(), []);
  });

  it('rejects an unknown type', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    await assert.rejects(broker.enable('sys', { type: 'syslog' }), { status: 400, message: /supported types: file, socket/ });
  });

  it('rejects a missing file_path', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    await assert.rejects(broker.enable('file', { type: 'file', options: {} }), { status: 400, message: /file_path/ });
  });

  it('accepts path as file_path alias', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    const file = logPath();
    await broker.enable('file', { type: 'file', options: { path: file } });
    await broker.logRequest({ req: makeRequest() });
    assert.equal((await readLines(file)).length, 1);
    await broker.close();
  });

  it('accepts discard', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    await broker.enable('null', { type: 'file', options: { file_path: 'discard' } });
    await broker.logRequest({ req: makeRequest() });
    assert.equal(broker.list()[0]!.path, 'null/');
  });

  it('fails closed when the directory is removed', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    const sub = join(dir, 'removed');
    await import('node:fs/promises').then((fs) => fs.mkdir(sub));
    await broker.enable('file', { type: 'file', options: { file_path: join(sub, 'audit.log') } });
    await rm(sub, { recursive: true });
    await broker.reload();

    await assert.rejects(broker.logRequest({ req: makeRequest('req-x') }), (err: any) => {
      assert.equal(err.status, 500);
      assert.ok(!err.message.includes('hunter2'));
      assert.ok(!err.message.includes('hvs.client-token'));
      return true;
    });
    await assert.rejects(broker.logResponse({ req: makeRequest(), status: 200 }), { status: 500 });
    await broker.close();
  });

  it('fails closed on a full disk', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    // Mode 0000 leaves the device node's mode alone.
    await broker.enable('full', { type: 'file', options: { file_path: '/dev/full', mode: '0000' } });
    await assert.rejects(broker.logRequest({ req: makeRequest() }), { status: 500 });
    await broker.close();
  });

  it('succeeds when one of two devices fails', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    const file = logPath();
    await broker.enable('full', { type: 'file', options: { file_path: '/dev/full', mode: '0000' } });
    await broker.enable('good', { type: 'file', options: { file_path: file } });
    await broker.logRequest({ req: makeRequest() });
    assert.equal((await readLines(file)).length, 1);
    await broker.close();
  });

  it('group commits concurrent responses', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    const file = logPath();
    await broker.enable('file', { type: 'file', options: { file_path: file } });
    const sink = broker.sinkAt('file') as FileSink;
    const syncsBefore = sink.syncCount;

    const count = 32;
    const requests = Array.from({ length: count }, (_, i) => makeRequest(`req-${i}`));
    await Promise.all(requests.map((req) => broker.logRequest({ req })));
    await Promise.all(requests.map((req) => broker.logResponse({ req, status: 200 })));
    const lines = await readLines(file);
    assert.equal(lines.length, 2 * count);
    assert.equal(new Set(lines.map((l) => l.request.id)).size, count);
    const syncs = sink.syncCount - syncsBefore;
    assert.ok(syncs >= 1, `syncs: ${syncs}`);
    assert.ok(syncs <= 2, `expected about one sync for ${count} responses, got ${syncs}`);
    await broker.close();
  });

  it('keeps table and salt across brokers', async () => {
    const storage = newStorage();
    const file = logPath();
    const first = new AuditBroker(storage, logger);
    await first.enable('file', { type: 'file', description: 'main log', options: { file_path: file, log_raw: 'false' } });
    const hash = first.hash('file', 'hunter2');
    await first.close();

    const second = new AuditBroker(storage, logger);
    await second.load();
    assert.deepEqual(second.list(), [
      { path: 'file/', type: 'file', description: 'main log', options: { file_path: file, log_raw: 'false' }, local: false },
    ]);
    assert.equal(second.hash('file', 'hunter2'), hash);
    await second.logRequest({ req: makeRequest() });
    assert.equal((await readLines(file))[0].request.data.password, hash);
    await second.close();
  });

  it('loads a device whose file cannot open', async () => {
    const storage = newStorage();
    const sub = join(dir, 'load-missing');
    await import('node:fs/promises').then((fs) => fs.mkdir(sub));
    const first = new AuditBroker(storage, logger);
    await first.enable('file', { type: 'file', options: { file_path: join(sub, 'a.log') } });
    await first.close();
    await rm(sub, { recursive: true });

    const second = new AuditBroker(storage, logger);
    await second.load();
    assert.equal(second.list().length, 1);
    await assert.rejects(second.logRequest({ req: makeRequest() }), { status: 500 });

    await import('node:fs/promises').then((fs) => fs.mkdir(sub));
    await second.logRequest({ req: makeRequest() });
    assert.equal((await readLines(join(sub, 'a.log'))).length, 1);
    await second.close();
  });

  it('disable stops writing', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    const file = logPath();
    await broker.enable('file', { type: 'file', options: { file_path: file } });
    await broker.logRequest({ req: makeRequest() });
    await broker.disable('file');
    await broker.logRequest({ req: makeRequest() });
    assert.equal((await readLines(file)).length, 1);
    assert.deepEqual(broker.list(), []);
    assert.throws(() => broker.hash('file', 'x'), { status: 400 });
  });

  it('disable of unknown path succeeds', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    await broker.disable('nothing');
  });

  it('disable survives a new broker', async () => {
    const storage = newStorage();
    const first = new AuditBroker(storage, logger);
    await first.enable('file', { type: 'file', options: { file_path: logPath() } });
    await first.disable('file');
    const second = new AuditBroker(storage, logger);
    await second.load();
    assert.deepEqual(second.list(), []);
    assert.deepEqual(await storage.list('salt/'), []);
  });

  it('re-enable gets a new salt', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    await broker.enable('file', { type: 'file', options: { file_path: logPath() } });
    const firstHash = broker.hash('file', 'x');
    await broker.disable('file');
    await broker.enable('file', { type: 'file', options: { file_path: logPath() } });
    assert.notEqual(broker.hash('file', 'x'), firstHash);
    await broker.close();
  });

  it('gives each device its own salt', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    await broker.enable('a', { type: 'file', options: { file_path: 'discard' } });
    await broker.enable('b', { type: 'file', options: { file_path: 'discard' } });
    assert.notEqual(broker.hash('a', 'x'), broker.hash('b', 'x'));
  });

  it('reload reopens a rotated file', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    const file = logPath();
    await broker.enable('file', { type: 'file', options: { file_path: file } });
    await broker.logRequest({ req: makeRequest('before') });
    await rename(file, file + '.1');
    await broker.reload();
    await broker.logRequest({ req: makeRequest('after') });

    assert.deepEqual((await readLines(file + '.1')).map((l) => l.request.id), ['before']);
    assert.deepEqual((await readLines(file)).map((l) => l.request.id), ['after']);
    await broker.close();
  });

  it('rejects a bad option value', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    await assert.rejects(broker.enable('file', { type: 'file', options: { file_path: 'discard', log_raw: 'yes' } }), {
      status: 400,
      message: /log_raw/,
    });
    await assert.rejects(broker.enable('file', { type: 'file', options: { file_path: 'discard', format: 'jsonx' } }), {
      status: 400,
    });
    await assert.rejects(broker.enable('/', { type: 'file', options: { file_path: 'discard' } }), { status: 400 });
  });
});

describe('AuditBroker durability', () => {
  it('writes the request entry without a sync', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    const file = logPath();
    await broker.enable('file', { type: 'file', options: { file_path: file } });
    const sink = broker.sinkAt('file') as FileSink;
    const syncsBefore = sink.syncCount;

    const req = makeRequest();
    await broker.logRequest({ req });
    assert.equal(sink.syncCount - syncsBefore, 0);
    assert.deepEqual((await readLines(file)).map((l) => l.type), ['request']);

    await broker.logResponse({ req, status: 200 });
    assert.equal(sink.syncCount - syncsBefore, 1);
    assert.deepEqual((await readLines(file)).map((l) => l.type), ['request', 'response']);
    await broker.close();
  });

  it('syncs once per sequential request', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    const file = logPath();
    await broker.enable('file', { type: 'file', options: { file_path: file } });
    const sink = broker.sinkAt('file') as FileSink;
    const syncsBefore = sink.syncCount;

    const count = 5;
    for (let i = 0; i < count; i++) {
      const req = makeRequest(`seq-${i}`);
      await broker.logRequest({ req });
      await broker.logResponse({ req, status: 200 });
      assert.equal(sink.syncCount - syncsBefore, i + 1, `syncs after request ${i}`);
    }
    const lines = await readLines(file);
    assert.equal(lines.length, 2 * count);
    await broker.close();
  });

  it('hashes the token once per request', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    const file = logPath();
    await broker.enable('file', { type: 'file', options: { file_path: file } });
    const req = makeRequest();
    const auth = { client_token: 'hvs.client-token', accessor: 'accessor-1' };
    await broker.logRequest({ req, auth });
    await broker.logResponse({ req, auth, status: 200 });

    const [request, response] = await readLines(file);
    const tokenHash = broker.hash('file', 'hvs.client-token');
    const accessorHash = broker.hash('file', 'accessor-1');
    for (const line of [request, response]) {
      assert.equal(line.auth.client_token, tokenHash);
      assert.equal(line.request.client_token, tokenHash);
      assert.equal(line.auth.accessor, accessorHash);
      assert.equal(line.request.client_token_accessor, accessorHash);
      assert.equal(line.request.data.password, broker.hash('file', 'hunter2'));
    }
    await broker.close();
  });

  it('syncs appended lines on close', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    const file = logPath();
    await broker.enable('file', { type: 'file', options: { file_path: file } });
    const sink = broker.sinkAt('file') as FileSink;
    const syncsBefore = sink.syncCount;

    await broker.logRequest({ req: makeRequest() });
    await broker.close();
    assert.equal(sink.syncCount - syncsBefore, 1);
    assert.equal((await readLines(file)).length, 1);
  });

  it('syncs the rotated file before reopening', async () => {
    const broker = new AuditBroker(newStorage(), logger);
    const file = logPath();
    await broker.enable('file', { type: 'file', options: { file_path: file } });
    const sink = broker.sinkAt('file') as FileSink;
    const syncsBefore = sink.syncCount;

    const req = makeRequest('rotated');
    await broker.logRequest({ req });
    await rename(file, file + '.1');
    await broker.reload();
    assert.equal(sink.syncCount - syncsBefore, 1);

    await broker.logResponse({ req, status: 200 });
    assert.equal(sink.syncCount - syncsBefore, 2);
    assert.deepEqual((await readLines(file + '.1')).map((l) => l.type), ['request']);
    assert.deepEqual((await readLines(file)).map((l) => l.type), ['response']);
    await broker.close();
  });

  describe('device that fails on sync', () => {
    // fdatasync on a FIFO fails with EINVAL while writes to it succeed, so a FIFO plays the part
    // of a file whose writes work and whose syncs fail.
    let fifo: string;
    let reader: FileHandle;

    before(async () => {
      fifo = join(dir, 'sync-fails.fifo');
      execFileSync('mkfifo', [fifo]);
      reader = await open(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    });

    after(async () => {
      await reader.close();
    });

    it('fails the response', async () => {
      const broker = new AuditBroker(newStorage(), logger);
      await broker.enable('fifo', { type: 'file', options: { file_path: fifo, mode: '0000' } });
      const req = makeRequest();
      await broker.logRequest({ req });
      await assert.rejects(broker.logResponse({ req, status: 200 }), { status: 500 });
      await broker.close();
    });

    it('then fails requests before the handler', async () => {
      const broker = new AuditBroker(newStorage(), logger);
      await broker.enable('fifo', { type: 'file', options: { file_path: fifo, mode: '0000' } });
      const first = makeRequest('first');
      await broker.logRequest({ req: first });
      await assert.rejects(broker.logResponse({ req: first, status: 200 }), { status: 500 });

      // After a failed sync, request entries wait for a sync too, so the next request fails here.
      await assert.rejects(broker.logRequest({ req: makeRequest('second') }), { status: 500 });
      await broker.close();
    });

    it('leaves a good device working', async () => {
      const broker = new AuditBroker(newStorage(), logger);
      const file = logPath();
      await broker.enable('fifo', { type: 'file', options: { file_path: fifo, mode: '0000' } });
      await broker.enable('good', { type: 'file', options: { file_path: file } });
      const req = makeRequest();
      await broker.logRequest({ req });
      await broker.logResponse({ req, status: 200 });
      assert.deepEqual((await readLines(file)).map((l) => l.type), ['request', 'response']);
      await broker.close();
    });
  });
});
