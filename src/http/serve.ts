import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { RequestHandler } from '../core/answer.js';
import { PayloadTooLargeError } from '../errors.js';
import { decodeRequest, type IncomingRequest } from './decode.js';
import { ExpectationFailedError } from './errors.js';
import { restoreRequestMethod } from './list-method.js';
import { writeAnswer, writeError } from './respond.js';

/** A response from either the HTTP/1.1 or the HTTP/2 server. */
export type OutgoingResponse = ServerResponse | Http2ServerResponse;

/** The server event a request arrived with: a plain request, or one with an `Expect` header. */
export type Arrival = 'request' | 'expect-continue' | 'unsupported-expectation';

export interface ServeOptions {
  handler: RequestHandler;
  logger: Logger;
  /** Bytes; a larger request body is rejected with 413. */
  maxRequestSize: number;
}

/** The function the servers call for every request. */
export type ServeRequest = (req: IncomingRequest, res: OutgoingResponse, arrival: Arrival) => Promise<void>;

/**
 * Creates the HTTP layer's request pipeline: restore the `LIST` method, decode the request, call
 * the core's `RequestHandler`, and write its `Answer` or the mapped error. The returned function
 * catches every error, so its promise always resolves.
 */
export function createServeRequest(options: ServeOptions): ServeRequest {
  const { handler, logger, maxRequestSize } = options;

  // Pipelined HTTP/1.1 requests on one connection run one after another, in wire order, so a
  // read sent behind a write sees that write.
  const connectionTails = new WeakMap<Socket, Promise<void>>();

  return function serveRequest(req, res, arrival) {
    // The rewriter's queue follows wire order, so the method is restored before anything awaits.
    const socket = socketOfHttp1(req);
    const method = restoreRequestMethod(req.method ?? '', socket);
    if (!socket) return serveOne(req, res, arrival, method);

    const previous = connectionTails.get(socket);
    const current = previous ? previous.then(() => serveOne(req, res, arrival, method)) : serveOne(req, res, arrival, method);
    connectionTails.set(socket, current);
    return current;
  };

  async function serveOne(req: IncomingRequest, res: OutgoingResponse, arrival: Arrival, method: string): Promise<void> {
    const id = randomUUID();
    try {
      if (arrival === 'unsupported-expectation') {
        throw new ExpectationFailedError('unsupported Expect header: only 100-continue is supported');
      }
      const beforeBody = arrival === 'expect-continue' ? () => res.writeContinue() : undefined;
      const logical = await decodeRequest(req, method, id, { maxRequestSize, beforeBody });
      const answer = await handler.handleRequest(logical);
      writeAnswer(res, answer);
    } catch (err) {
      // The unread rest of an oversized HTTP/1.1 body would be parsed as the next request.
      if (err instanceof PayloadTooLargeError && req.httpVersionMajor === 1 && !res.headersSent) {
        res.setHeader('connection', 'close');
      }
      writeFailure(res, err, id, logger);
    }
  }
}

function writeFailure(res: OutgoingResponse, err: unknown, id: string, logger: Logger): void {
  try {
    writeError(res, err, id, logger);
  } catch (writeErr) {
    logger.error({ request_id: id, err: writeErr }, 'writing the error response failed');
    res.destroy();
  }
}

function socketOfHttp1(req: IncomingRequest): Socket | null {
  return req.httpVersionMajor === 1 ? (req.socket as Socket) : null;
}
