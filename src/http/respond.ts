import type { OutgoingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { Answer } from '../core/answer.js';
import { mapError } from './errors.js';

/** The methods of `http.ServerResponse` and `http2.Http2ServerResponse` that writing uses. */
export interface ResponseSink {
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  end(): unknown;
  end(body: string | Buffer): unknown;
}

const JSON_CONTENT_TYPE = 'application/json';

/**
 * Writes the pipeline's `Answer`. A null body gets status 204 (or the answer's own status when that
 * is not 200) and no body. Any other body is sent as JSON with `Cache-Control: no-store`. A string
 * or Buffer body with a non-JSON `Content-Type` in the answer's headers is sent unchanged, for
 * plain-text formats such as metrics. The answer's headers override the defaults.
 */
export function writeAnswer(res: ResponseSink, answer: Answer): void {
  const extra = answer.headers ? lowerCaseNames(answer.headers) : undefined;

  if (answer.body === null || answer.body === undefined) {
    const status = answer.status === 200 ? 204 : answer.status;
    res.writeHead(status, { 'cache-control': 'no-store', ...extra });
    res.end();
    return;
  }

  const contentType = extra?.['content-type'];
  const isRaw = typeof contentType === 'string' && !contentType.startsWith(JSON_CONTENT_TYPE);
  const body: string | Buffer =
    isRaw && (typeof answer.body === 'string' || Buffer.isBuffer(answer.body))
      ? answer.body
      : JSON.stringify(answer.body);

  res.writeHead(answer.status, {
    'content-type': JSON_CONTENT_TYPE,
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
}

/**
 * Maps a thrown error to Vault's `{"errors": [...]}` response and writes it. When the response was
 * already started, or has ended, only the log entry is written.
 */
export function writeError(res: ResponseSink, err: unknown, requestId: string, logger: Logger): void {
  const reply = mapError(err, requestId, logger);
  if (res.headersSent || res.writableEnded) return;

  const body = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': JSON_CONTENT_TYPE,
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function lowerCaseNames(headers: Record<string, string>): Record<string, string> {
  const lowered: Record<string, string> = {};
  for (const name of Object.keys(headers)) lowered[name.toLowerCase()] = headers[name];
  return lowered;
}
