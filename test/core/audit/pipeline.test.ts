import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FileSink } from '../../../src/core/audit/file.js';
import { api, startDevServer } from '../../helpers/server.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coffer-audit-pipeline-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readLines(path: string): Promise<any[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
}

describe('request audit in the pipeline', () => {
  it('syncs once per request', async () => {
    const server = await startDevServer();
    try {
      const file = join(dir, 'audit.log');
      const enabled = await api(server.url, 'PUT', 'sys/audit/file', { token: 'root', body: { type: 'file', options: { file_path: file } } });
      assert.equal(enabled.status, 204);
      const sink = server.core.audit.sinkAt('file') as FileSink;
      const syncsBefore = sink.syncCount;
      const linesBefore = (await readLines(file)).length;

      const count = 4;
      for (let i = 0; i < count; i++) {
        const write = await api(server.url, 'POST', 'secret/data/durable', { token: 'root', body: { data: { n: i } } });
        assert.equal(write.status, 200);
        assert.equal(sink.syncCount - syncsBefore, 2 * i + 1, `syncs after write ${i}`);
        const read = await api(server.url, 'GET', 'secret/data/durable', { token: 'root' });
        assert.equal(read.status, 200);
        assert.equal(sink.syncCount - syncsBefore, 2 * i + 2, `syncs after read ${i}`);
      }

      // Each request has its request line before its response line.
      const lines = (await readLines(file)).slice(linesBefore);
      assert.equal(lines.length, 4 * count);
      const ids = [...new Set(lines.map((line) => line.request.id))];
      assert.equal(ids.length, 2 * count);
      for (const id of ids) {
        const types = lines.filter((line) => line.request.id === id).map((line) => line.type);
        assert.deepEqual(types, ['request', 'response'], `lines of request ${id}`);
      }
    } finally {
      await server.close();
    }
  });

  it('unwritable device stops the handler', { skip: existsSync('/dev/full') ? false : 'no /dev/full' }, async () => {
    const server = await startDevServer();
    try {
      const first = await api(server.url, 'POST', 'secret/data/kept', { token: 'root', body: { data: { v: 'before' } } });
      assert.equal(first.status, 200);
      // /dev/full fails every write with ENOSPC, so the request entry cannot be written anywhere.
      await server.core.audit.enable('full', { type: 'file', options: { file_path: '/dev/full', mode: '0000' } });

      const attempt = await api(server.url, 'POST', 'secret/data/kept', { token: 'root', body: { data: { v: 'after' } } });
      assert.equal(attempt.status, 500);

      await server.core.audit.disable('full');
      const read = await api(server.url, 'GET', 'secret/data/kept', { token: 'root' });
      assert.equal(read.body.data.data.v, 'before');
      assert.equal(read.body.data.metadata.version, 1);
    } finally {
      await server.close();
    }
  });
});
