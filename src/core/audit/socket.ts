import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createConnection, isIP, type Socket } from 'node:net';
import { BadRequestError } from '../../errors.js';
import { parseDuration } from '../../framework/duration.js';
import type { AuditSink } from './types.js';

export type SocketType = 'tcp' | 'udp' | 'unix';

/** Options of the `socket` device, parsed from its string options. */
export interface SocketSinkOptions {
  /** `host:port` for tcp and udp (`[::1]:port` for IPv6), a file path for unix. */
  address: string;
  socketType: SocketType;
  /** Milliseconds a connect or a write may take before it fails. */
  writeTimeoutMs: number;
}

const DEFAULT_WRITE_TIMEOUT_SECONDS = 2;

/** Parses `address`, `socket_type` and `write_timeout`; throws a 400 on a missing or bad value. */
export function parseSocketSinkOptions(options: Record<string, string>): SocketSinkOptions {
  const address = options.address;
  if (!address) throw new BadRequestError('missing option "address" for the socket audit device');

  const socketType = (options.socket_type || 'tcp') as SocketType;
  if (!['tcp', 'udp', 'unix'].includes(socketType)) {
    throw new BadRequestError('invalid value for option "socket_type": expected tcp, udp or unix');
  }
  if (socketType !== 'unix') parseHostPort(address);

  const timeout = options.write_timeout
    ? parseDuration(options.write_timeout, 'value for option "write_timeout"')
    : DEFAULT_WRITE_TIMEOUT_SECONDS;
  if (timeout <= 0) {
    throw new BadRequestError('invalid value for option "write_timeout": expected a positive duration');
  }
  return { address, socketType, writeTimeoutMs: timeout * 1000 };
}

/** Splits `host:port` or `[v6]:port`; throws a 400 when the address has no valid port. */
export function parseHostPort(address: string): { host: string; port: number } {
  const match = /^(?:\[(?<v6>[^\]]+)\]|(?<host>[^:]+)):(?<port>\d{1,5})$/.exec(address);
  const port = Number(match?.groups?.port);
  if (!match || port < 1 || port > 65535) {
    throw new BadRequestError(`invalid value for option "address": ${JSON.stringify(address.slice(0, 100))}: expected host:port`);
  }
  return { host: match.groups?.v6 ?? match.groups?.host ?? '', port };
}

/**
 * Sends each line over a TCP or Unix stream, or as one UDP datagram. A write resolves once the
 * kernel accepts the bytes; nothing confirms that the listener stored them. A failed stream write
 * reconnects and retries once before it throws.
 */
export class SocketSink implements AuditSink {
  private stream: Socket | null = null;
  private datagram: UdpSocket | null = null;
  private lock: Promise<void> = Promise.resolve();

  constructor(private readonly options: SocketSinkOptions) {}

  write(line: string): Promise<void> {
    const data = Buffer.from(line, 'utf8');
    return this.withLock(async () => {
      if (this.options.socketType === 'udp') return this.sendDatagram(data);
      try {
        await this.writeStream(data);
      } catch {
        this.dropStream();
        await this.writeStream(data);
      }
    });
  }

  /** Sends the line as `write` does: a socket gives no later point at which it becomes durable. */
  async append(line: string): Promise<number> {
    await this.write(line);
    return 0;
  }

  /** Closes the connection and opens a new one. */
  reopen(): Promise<void> {
    return this.withLock(async () => {
      this.dropStream();
      this.datagram?.close();
      this.datagram = null;
      if (this.options.socketType !== 'udp') this.stream = await this.connect();
    });
  }

  close(): Promise<void> {
    return this.withLock(async () => {
      this.stream?.end();
      this.stream = null;
      this.datagram?.close();
      this.datagram = null;
    });
  }

  private withLock<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.lock.then(operation);
    this.lock = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private async writeStream(data: Buffer): Promise<void> {
    if (!this.stream) this.stream = await this.connect();
    const stream = this.stream;
    await this.withTimeout('write', (done) => stream.write(data, (err) => done(err ?? undefined)));
  }

  private connect(): Promise<Socket> {
    const target =
      this.options.socketType === 'unix' ? { path: this.options.address } : parseHostPort(this.options.address);
    const socket = createConnection(target);
    // A stream error after connecting only marks the connection broken; the next write reconnects.
    socket.on('error', () => {
      if (this.stream === socket) this.stream = null;
    });
    socket.on('close', () => {
      if (this.stream === socket) this.stream = null;
    });
    return this.withTimeout('connect', (done) => {
      socket.once('connect', () => done());
      socket.once('error', (err) => done(err));
    }).then(
      () => socket,
      (err) => {
        socket.destroy();
        throw err;
      },
    );
  }

  private sendDatagram(data: Buffer): Promise<void> {
    const { host, port } = parseHostPort(this.options.address);
    if (!this.datagram) {
      this.datagram = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
      this.datagram.on('error', () => {
        this.datagram?.close();
        this.datagram = null;
      });
    }
    const datagram = this.datagram;
    return this.withTimeout('send', (done) => datagram.send(data, port, host, (err) => done(err ?? undefined)));
  }

  /** Runs a callback-style step and fails it after the write timeout. */
  private withTimeout(step: string, start: (done: (err?: Error) => void) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        this.dropStream();
        reject(new Error(`audit socket ${step} to ${this.options.address} timed out after ${this.options.writeTimeoutMs} ms`));
      }, this.options.writeTimeoutMs);
      start((err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  private dropStream(): void {
    this.stream?.destroy();
    this.stream = null;
  }
}
