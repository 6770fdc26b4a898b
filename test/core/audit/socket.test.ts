import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { AuditBroker } from '../../../src/core/audit/broker.js';
import { parseHostPort, parseSocketSinkOptions } from '../../../src/core/audit/socket.js';
import type { LogicalRequest } from '../../../src/framework/types.js';
import { InmemPhysical } from '../../../src/storage/inmem.js';
import { StorageView } from '../../../src/storage/storage.js';

const logger = pino({ level: 'silent' });
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coffer-audit-socket-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function newBroker(): AuditBroker {
  return new AuditBroker(new StorageView(new InmemPhysical(), 'core/audit/'), logger);
}

function makeRequest(id: string): LogicalRequest {
  return { id, operation: 'read', path: 'secret/app', data: {}, query: {}, headers: {}, remoteAddress: '127.0.0.1' };
}

/** A stream listener that collects received lines and can drop its connections. */
class LineListener {
  readonly server: Server;
  readonly connections = new Set<Socket>();
  private buffer = '';
  readonly lines: string[] = [];
  private waiters: Array<() => void> = [];

  constructor() {
    this.server = createServer((socket) => {
      this.connections.add(socket);
      socket.on('close', () => this.connections.delete(socket));
      socket.on('data', (chunk) => {
        this.buffer += chunk.toString('utf8');
        let index: number;
        while ((index = this.buffer.indexOf('\n')) >= 0) {
          this.lines.push(this.buffer.slice(0, index));
          this.buffer = this.buffer.slice(index + 1);
        }
        for (const wake of this.waiters.splice(0)) wake();
      });
    });
  }

  listen(target: number | string): Promise<void> {
    return new Promise((resolve) => {
      if (typeof target === 'string') this.server.listen(target, resolve);
      else this.server.listen(target, '127.0.0.1', resolve);
    });
  }

  port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async waitForLines(count: number): Promise<void> {
    while (this.lines.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  close(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('socket audit device', () => {
  it('writes lines over tcp', async () => {
    const listener = new LineListener();
    await listener.listen(0);
    const broker = newBroker();
    await broker.enable('sock', { type: 'socket', options: { address: `127.0.0.1:${listener.port()}` } });

    await broker.logRequest({ req: makeRequest('one') });
    await broker.logResponse({ req: makeRequest('one'), status: 200 });
    await listener.waitForLines(2);
    assert.deepEqual(listener.lines.map((l) => JSON.parse(l).type), ['request', 'response']);
    await broker.close();
    await listener.close();
  });

  it('reconnects after the listener drops', async () => {
    const listener = new LineListener();
    await listener.listen(0);
    const broker = newBroker();
    await broker.enable('sock', { type: 'socket', options: { address: `127.0.0.1:${listener.port()}` } });
    await broker.logRequest({ req: makeRequest('first') });
    await listener.waitForLines(1);

    for (const socket of listener.connections) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await broker.logRequest({ req: makeRequest('second') });
    await listener.waitForLines(2);
    assert.equal(JSON.parse(listener.lines[1]!).request.id, 'second');
    await broker.close();
    await listener.close();
  });

  it('fails closed when the listener is gone', async () => {
    const listener = new LineListener();
    await listener.listen(0);
    const broker = newBroker();
    await broker.enable('sock', { type: 'socket', options: { address: `127.0.0.1:${listener.port()}` } });
    await listener.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await assert.rejects(broker.logRequest({ req: makeRequest('lost') }), { status: 500 });
    await broker.close();
  });

  it('rejects enable with no listener', async () => {
    const listener = new LineListener();
    await listener.listen(0);
    const port = listener.port();
    await listener.close();
    const broker = newBroker();
    await assert.rejects(broker.enable('sock', { type: 'socket', options: { address: `127.0.0.1:${port}` } }), {
      status: 400,
      message: /ECONNREFUSED/,
    });
  });

  it('writes lines over a unix socket', async () => {
    const listener = new LineListener();
    const path = join(dir, 'audit.sock');
    await listener.listen(path);
    const broker = newBroker();
    await broker.enable('sock', { type: 'socket', options: { address: path, socket_type: 'unix' } });
    await broker.logRequest({ req: makeRequest('unix') });
    await listener.waitForLines(1);
    assert.equal(JSON.parse(listener.lines[0]!).request.id, 'unix');
    await broker.close();
    await listener.close();
  });

  it('sends datagrams over udp', async () => {
    const receiver = createSocket('udp4');
    const received: string[] = [];
    const arrived = new Promise<void>((resolve) => {
      receiver.on('message', (message) => {
        received.push(message.toString('utf8'));
        resolve();
      });
    });
    await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', resolve));
    const broker = newBroker();
    await broker.enable('udp', {
      type: 'socket',
      options: { address: `127.0.0.1:${receiver.address().port}`, socket_type: 'udp' },
    });
    await broker.logRequest({ req: makeRequest('udp') });
    await arrived;
    assert.ok(received[0]!.endsWith('\n'));
    assert.equal(JSON.parse(received[0]!).request.id, 'udp');
    await broker.close();
    receiver.close();
  });
});

describe('socket options', () => {
  it('defaults to tcp and 2s', () => {
    assert.deepEqual(parseSocketSinkOptions({ address: '127.0.0.1:9090' }), {
      address: '127.0.0.1:9090',
      socketType: 'tcp',
      writeTimeoutMs: 2000,
    });
  });

  it('parses write_timeout', () => {
    assert.equal(parseSocketSinkOptions({ address: '127.0.0.1:9090', write_timeout: '5s' }).writeTimeoutMs, 5000);
  });

  it('rejects missing address', () => {
    assert.throws(() => parseSocketSinkOptions({}), { status: 400, message: /address/ });
  });

  it('rejects unknown socket_type', () => {
    assert.throws(() => parseSocketSinkOptions({ address: '127.0.0.1:1', socket_type: 'sctp' }), { status: 400 });
  });

  it('rejects address without port', () => {
    assert.throws(() => parseSocketSinkOptions({ address: 'localhost' }), { status: 400 });
    assert.throws(() => parseSocketSinkOptions({ address: '127.0.0.1:70000' }), { status: 400 });
  });

  it('parses IPv6 address', () => {
    assert.deepEqual(parseHostPort('[::1]:9000'), { host: '::1', port: 9000 });
  });
});
