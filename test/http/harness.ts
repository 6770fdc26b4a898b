import net from 'node:net';
import pino from 'pino';
import type { Answer, RequestHandler } from '../../src/core/answer.js';
import type { ListenerConfig } from '../../src/config/types.js';
import {
  BadRequestError,
  CheckAndSetError,
  CofferError,
  InternalError,
  NotFoundError,
  PayloadTooLargeError,
  PermissionDeniedError,
  PreconditionFailedError,
  RateLimitError,
  SealedError,
  UnsupportedOperationError,
} from '../../src/errors.js';
import type { LogicalRequest } from '../../src/framework/types.js';
import { createHttpListener, type HttpListener } from '../../src/http/server.js';

/** Every CofferError subclass, by the name a test path uses to make the handler throw it. */
export const ERROR_CLASSES: Record<string, new (message: string) => CofferError> = {
  BadRequestError,
  CheckAndSetError,
  PermissionDeniedError,
  NotFoundError,
  UnsupportedOperationError,
  PreconditionFailedError,
  PayloadTooLargeError,
  RateLimitError,
  SealedError,
  InternalError,
};

/** Detail that a failing handler puts in a plain Error: it belongs in the log, never in the response. */
export const INTERNAL_DETAIL = 'connection to storage reset at page 42';

/**
 * A small real RequestHandler. It echoes the decoded request for any path, except:
 * `throw/NAME` throws the CofferError subclass NAME, `throw/plain` throws a plain Error,
 * `empty` returns 200 with no body, `empty-404` returns 404 with no body, `text` returns raw text,
 * and `slow` returns the echo after 100 ms.
 */
export class EchoHandler implements RequestHandler {
  readonly requests: LogicalRequest[] = [];

  async handleRequest(req: LogicalRequest): Promise<Answer> {
    this.requests.push(req);
    const [first, second] = req.path.split('/');
    if (first === 'throw') {
      if (second === 'plain') throw new Error(INTERNAL_DETAIL);
      const ErrorClass = ERROR_CLASSES[second];
      throw new ErrorClass(`${second} raised by the test handler`);
    }
    if (req.path === 'empty') return { status: 200, body: null };
    if (req.path === 'empty-404') return { status: 404, body: null };
    if (req.path === 'text') return { status: 200, body: 'metric 1\n', headers: { 'Content-Type': 'text/plain; version=0.0.4' } };
    if (req.path === 'slow') await new Promise((resolve) => setTimeout(resolve, 100));
    return {
      status: 200,
      body: {
        operation: req.operation,
        path: req.path,
        data: req.data,
        query: req.query,
        clientToken: req.clientToken ?? null,
        wrapTtl: req.wrapTtl ?? null,
        remoteAddress: req.remoteAddress,
        id: req.id,
      },
      headers: { 'X-Test-Header': 'yes' },
    };
  }
}

export interface TestListener {
  listener: HttpListener;
  handler: EchoHandler;
  port: number;
  /** Log lines written so far, parsed from pino's JSON output. */
  logs: Array<Record<string, unknown>>;
}

/** Starts a listener on 127.0.0.1 port 0 with an EchoHandler and a logger that records its lines. */
export async function startTestListener(overrides: Partial<ListenerConfig> = {}): Promise<TestListener> {
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const handler = new EchoHandler();
  const config: ListenerConfig = {
    type: 'tcp',
    address: '127.0.0.1:0',
    tlsDisable: true,
    tlsMinVersion: 'tls12',
    maxRequestSize: 1024 * 1024,
    ...overrides,
  };
  const listener = await createHttpListener(config, handler, logger);
  const port = Number(listener.address.slice(listener.address.lastIndexOf(':') + 1));
  return { listener, handler, port, logs };
}

/** One HTTP/1.1 response read off a raw socket. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Splits the bytes a server sent into responses. Bodies are framed by Content-Length or chunked;
 * a response with neither (204, or Node's own 400) has no body. Returns the complete responses.
 */
export function parseResponses(bytes: Buffer): RawResponse[] {
  const responses: RawResponse[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const headEnd = bytes.indexOf('\r\n\r\n', pos);
    if (headEnd === -1) break;
    const [statusLine, ...headerLines] = bytes.toString('latin1', pos, headEnd).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(statusLine.split(' ')[1]);
    const bodyStart = headEnd + 4;
    let body: string;
    if (headers['transfer-encoding'] === 'chunked') {
      const chunked = readChunkedBody(bytes, bodyStart);
      if (chunked === null) break;
      body = chunked.body;
      pos = chunked.end;
    } else {
      const length = Number(headers['content-length'] ?? 0);
      if (bytes.length < bodyStart + length) break;
      body = bytes.toString('utf8', bodyStart, bodyStart + length);
      pos = bodyStart + length;
    }
    // A 100 Continue is an interim response, not the final one.
    if (status !== 100) responses.push({ status, headers, body });
  }
  return responses;
}

/** Reads a chunked body without trailers; null if it is not complete yet. */
function readChunkedBody(bytes: Buffer, start: number): { body: string; end: number } | null {
  const parts: Buffer[] = [];
  let pos = start;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', pos);
    if (lineEnd === -1) return null;
    const size = parseInt(bytes.toString('latin1', pos, lineEnd), 16);
    if (size === 0) {
      if (bytes.length < lineEnd + 4) return null;
      return { body: Buffer.concat(parts).toString('utf8'), end: lineEnd + 4 };
    }
    if (bytes.length < lineEnd + 2 + size + 2) return null;
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    pos = lineEnd + 2 + size + 2;
  }
}

export interface ExchangeOptions {
  /** Resolve once this many responses arrived (otherwise when the server closes). */
  responses?: number;
  /** Milliseconds between writes, so each write arrives as its own TCP segment. */
  writeDelayMs?: number;
  /** Milliseconds before giving up and resolving with what arrived. */
  timeoutMs?: number;
}

export interface ExchangeResult {
  responses: RawResponse[];
  /** True if the server closed the connection before the expected responses arrived. */
  closed: boolean;
  timedOut: boolean;
  /** Everything the server sent. */
  raw: Buffer;
}

/** Writes raw bytes to the server in the given pieces and collects the responses. */
export function exchange(port: number, pieces: Array<string | Buffer>, options: ExchangeOptions = {}): Promise<ExchangeResult> {
  const { responses: expected, writeDelayMs = 0, timeoutMs = 5000 } = options;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    const received: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean, timedOut: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(received);
      resolve({ responses: parseResponses(raw), closed, timedOut, raw });
    };
    const timer = setTimeout(() => finish(false, true), timeoutMs);

    socket.on('data', (chunk) => {
      received.push(chunk);
      if (expected !== undefined && parseResponses(Buffer.concat(received)).length >= expected) finish(false, false);
    });
    socket.on('close', () => finish(true, false));
    socket.on('error', () => finish(true, false));
    socket.on('connect', async () => {
      for (const piece of pieces) {
        if (socket.destroyed) return;
        socket.write(piece);
        if (writeDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, writeDelayMs));
      }
    });
  });
}

/** Builds a raw HTTP/1.1 request with Host and, for a body, Content-Length. */
export function rawRequest(method: string, path: string, body?: string, headers: Record<string, string> = {}): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body ?? ''}`;
}

/** Builds a raw HTTP/1.1 request whose body is sent chunked, one chunk per piece. */
export function chunkedRequest(method: string, path: string, pieces: string[]): string {
  const chunks = pieces.map((piece) => `${Buffer.byteLength(piece).toString(16)}\r\n${piece}\r\n`).join('');
  return `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`;
}

/** Parses a JSON response body. */
export function json(response: RawResponse): any {
  return JSON.parse(response.body);
}
