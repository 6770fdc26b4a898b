import { readFile } from 'node:fs/promises';
import http from 'node:http';
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { ListenerConfig } from '../config/types.js';
import type { RequestHandler } from '../core/answer.js';
import type { IncomingRequest } from './decode.js';
import { installListMethodRewriter } from './list-method.js';
import { createServeRequest, type Arrival, type OutgoingResponse, type ServeRequest } from './serve.js';

/** A listener that is accepting connections. */
export interface HttpListener {
  /** `host:port` actually bound; the port is the real one when the configuration asked for 0. */
  readonly address: string;
  /** Stops accepting connections, ends idle ones, and resolves once every connection is closed. */
  close(): Promise<void>;
}

/**
 * Idle keep-alive connections are closed after 5 minutes. That is longer than common clients keep
 * an idle connection (Go's transport: 90 s), so the client closes first and a new request never
 * races the server closing the connection under it.
 */
const KEEP_ALIVE_TIMEOUT_MS = 5 * 60 * 1000;
/** Time a TLS client has to send a complete request head, so slow clients cannot hold sockets. */
const TLS_HEADERS_TIMEOUT_MS = 60 * 1000;
/** Idle time after which a TLS connection or HTTP/2 session is closed. */
const TLS_IDLE_TIMEOUT_MS = 5 * 60 * 1000;
const headerDeadline = Symbol('headerDeadline');

const TLS_VERSIONS = { tls12: 'TLSv1.2', tls13: 'TLSv1.3' } as const;

type AnyServer = http.Server | http2.Http2SecureServer;

/**
 * Starts a listener from its configuration. Without TLS it serves HTTP/1.1; with TLS it serves
 * HTTP/2 and, for clients that do not offer h2 through ALPN, HTTP/1.1. Both accept Vault's `LIST`
 * method. Rejects if the certificate files cannot be read or the address cannot be bound.
 */
export async function createHttpListener(
  config: ListenerConfig,
  handler: RequestHandler,
  logger: Logger,
): Promise<HttpListener> {
  const { host, port } = parseListenAddress(config.address);
  const serve = createServeRequest({ handler, logger, maxRequestSize: config.maxRequestSize });
  const connections = new ConnectionTracker();
  const server = config.tlsDisable ? createPlainServer(connections) : await createTlsServer(config, connections);
  // The HTTP/2 server reads these too, for its HTTP/1.1 connections, though its type omits them.
  const settings = server as { keepAliveTimeout?: number; requireHostHeader?: boolean };
  settings.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // Node rejects a Host-less HTTP/1.1 request itself, without a 'request' event, which would leave
  // its LIST flag queued for the next LINK request. The decoder rejects such a request instead.
  settings.requireHostHeader = false;
  attachRequestListeners(server, serve, connections);
  attachProtocolErrorListeners(server);

  await listen(server, host, port);
  const bound = server.address() as AddressInfo;
  const address = bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
  logger.info({ address, tls: !config.tlsDisable }, 'listener started');

  return {
    address,
    close: async () => {
      await connections.closeServer(server);
      logger.info({ address }, 'listener stopped');
    },
  };
}

/** Splits `host:port` or `[ipv6]:port`. */
export function parseListenAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const portText = colon === -1 ? '' : address.slice(colon + 1);
  const port = Number(portText);
  if (colon === -1 || portText === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid listener address ${JSON.stringify(address)}: expected HOST:PORT such as 127.0.0.1:8200`);
  }
  let host = address.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host: host === '' ? '0.0.0.0' : host, port };
}

function createPlainServer(connections: ConnectionTracker): http.Server {
  const server = http.createServer();
  // Runs before Node's own listener attaches the HTTP parser to the socket.
  server.prependListener('connection', (socket: Socket) => {
    installListMethodRewriter(socket);
    connections.add(socket);
  });
  return server;
}

async function createTlsServer(config: ListenerConfig, connections: ConnectionTracker): Promise<http2.Http2SecureServer> {
  if (!config.tlsCertFile || !config.tlsKeyFile) {
    throw new Error('TLS is enabled but tls_cert_file or tls_key_file is not set; set both, or set tls_disable');
  }
  // Read one after the other, so that with both files missing the error always names the cert.
  const cert = await readTlsFile(config.tlsCertFile, 'tls_cert_file');
  const key = await readTlsFile(config.tlsKeyFile, 'tls_key_file');
  const server = http2.createSecureServer({
    allowHTTP1: true,
    cert,
    key,
    minVersion: TLS_VERSIONS[config.tlsMinVersion],
  });

  // An HTTP/1.1 client over TLS gets the same LIST rewriting as a plain one. This runs before the
  // HTTP/2 server hands the socket to Node's HTTP/1.1 parser.
  server.prependListener('secureConnection', (socket: TLSSocket) => {
    // Node's HTTP/2 server applies no header or idle timeouts to the connections it serves, so
    // they are set here: a deadline for each HTTP/1.1 request head and an idle limit.
    socket.setTimeout(TLS_IDLE_TIMEOUT_MS, () => socket.destroy());
    if (socket.alpnProtocol !== 'h2') {
      installListMethodRewriter(socket);
      armHeaderDeadline(socket, TLS_HEADERS_TIMEOUT_MS);
    }
    connections.add(socket);
  });
  server.on('session', (session: http2.ServerHttp2Session) => {
    session.setTimeout(TLS_IDLE_TIMEOUT_MS, () => session.close());
    connections.addSession(session);
  });
  server.prependListener('request', (req: IncomingRequest, res: OutgoingResponse) => {
    if (req.httpVersionMajor !== 1) return;
    const socket = req.socket as TLSSocket & { [headerDeadline]?: NodeJS.Timeout };
    clearTimeout(socket[headerDeadline]);
    res.once('finish', () => armHeaderDeadline(socket, KEEP_ALIVE_TIMEOUT_MS));
  });
  return server;
}

/** Destroys the socket unless a request head arrives within `ms`. */
function armHeaderDeadline(socket: TLSSocket & { [headerDeadline]?: NodeJS.Timeout }, ms: number): void {
  clearTimeout(socket[headerDeadline]);
  const timer = setTimeout(() => socket.destroy(), ms);
  timer.unref();
  socket[headerDeadline] = timer;
  socket.once('close', () => clearTimeout(timer));
}

async function readTlsFile(path: string, setting: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new Error(`reading ${setting} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function attachRequestListeners(server: AnyServer, serve: ServeRequest, connections: ConnectionTracker): void {
  const onArrival = (arrival: Arrival) => (req: IncomingRequest, res: OutgoingResponse) => {
    connections.requestStarted(req, res);
    void serve(req, res, arrival);
  };
  server.on('request', onArrival('request'));
  // With these listeners Node leaves `100 Continue` and other expectations to the pipeline.
  server.on('checkContinue', onArrival('expect-continue'));
  server.on('checkExpectation', onArrival('unsupported-expectation'));
}

/**
 * Replies to requests that Node's HTTP/1.1 parser rejects before a 'request' event (an unknown
 * method, malformed framing, oversized headers) and CONNECT, with Vault's JSON error shape
 * instead of an empty body or a closed socket. The connection is closed afterwards.
 */
function attachProtocolErrorListeners(server: AnyServer): void {
  const reply = (socket: Duplex, status: number, reason: string, message: string) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const body = JSON.stringify({ errors: [message] });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  };
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') reply(socket, 408, 'Request Timeout', 'the request was not received in time');
    else if (err.code === 'HPE_HEADER_OVERFLOW') reply(socket, 431, 'Request Header Fields Too Large', 'request headers are too large');
    else if (err.code === 'HPE_INVALID_METHOD') reply(socket, 405, 'Method Not Allowed', 'unsupported method: use GET, PUT, POST, PATCH, DELETE or LIST');
    else reply(socket, 400, 'Bad Request', 'malformed HTTP request');
  });
  server.on('connect', (_req: unknown, socket: Duplex) => {
    reply(socket, 405, 'Method Not Allowed', 'unsupported method CONNECT: use GET, PUT, POST, PATCH, DELETE or LIST');
  });
}

function listen(server: AnyServer, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(new Error(`listening on ${host}:${port}: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * Tracks a listener's connections so `close` can end idle ones at once and the busy ones as soon
 * as their last response is written. Node's `closeIdleConnections` covers only plain HTTP/1.1
 * servers, not HTTP/1.1 connections of the HTTP/2 server.
 */
class ConnectionTracker {
  /** Each socket with its HTTP/1.1 responses still in flight. */
  private readonly sockets = new Map<Socket, Set<OutgoingResponse>>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private closing = false;

  add(socket: Socket): void {
    this.sockets.set(socket, new Set());
    socket.once('close', () => this.sockets.delete(socket));
  }

  addSession(session: http2.ServerHttp2Session): void {
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    if (this.closing) session.close();
  }

  /** Counts an HTTP/1.1 response as in flight on its socket until it is closed. */
  requestStarted(req: IncomingRequest, res: OutgoingResponse): void {
    if (req.httpVersionMajor !== 1) return;
    const socket = req.socket as Socket;
    const inFlight = this.sockets.get(socket);
    if (inFlight === undefined) return;

    inFlight.add(res);
    if (this.closing) res.setHeader('connection', 'close');
    res.once('close', () => {
      inFlight.delete(res);
      if (this.closing && inFlight.size === 0) socket.destroySoon();
    });
  }

  /** Closes the server and resolves once every connection is gone. */
  closeServer(server: AnyServer): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const session of this.sessions) session.close();
    for (const [socket, inFlight] of this.sockets) {
      // HTTP/2 sockets end through their session.
      if ((socket as TLSSocket).alpnProtocol === 'h2') continue;
      if (inFlight.size === 0) socket.destroy();
      // A response not yet started announces that the connection closes after it.
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
    }
    return closed;
  }
}
