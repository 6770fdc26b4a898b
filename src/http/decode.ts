import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { BadRequestError, NotFoundError, PayloadTooLargeError, UnsupportedOperationError } from '../errors.js';
import { parseDuration } from '../framework/duration.js';
import type { LogicalRequest, Operation } from '../framework/types.js';
import { UnsupportedMediaTypeError } from './errors.js';

/** A request from either the HTTP/1.1 or the HTTP/2 server. */
export type IncomingRequest = IncomingMessage | Http2ServerRequest;

const API_PREFIX = '/v1/';
const MERGE_PATCH_CONTENT_TYPE = 'application/merge-patch+json';
/** An encoded slash or backslash, which would let one path segment pose as two. */
const ENCODED_SEPARATOR = /%2f|%5c/i;
const CONTROL_CHARACTER = /[\x00-\x1f\x7f]/;
/** Namespace values that name the root namespace, the only one Coffer has. */
const ROOT_NAMESPACES = new Set(['', '/', 'root', 'root/']);
/** Spellings of true and false that Go's `strconv.ParseBool` accepts, as Vault reads `list`. */
const TRUE_VALUES = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE_VALUES = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

export interface DecodeOptions {
  /** Bytes; a larger body is rejected with 413. */
  maxRequestSize: number;
  /**
   * Called once the request passed every check, right before its body is read. The server sends
   * `100 Continue` here to a client that waits for it.
   */
  beforeBody?: () => void;
}

/**
 * Turns an HTTP request into a `LogicalRequest`: checks and decodes the path under `/v1/`, maps
 * the method to an operation, reads the token and Vault headers, and reads a write's JSON body.
 * `method` is the method the client sent, with `LIST` restored. Throws a `CofferError` (404, 400,
 * 405, 413 or 415) for a request that cannot be served.
 */
export async function decodeRequest(
  req: IncomingRequest,
  method: string,
  id: string,
  options: DecodeOptions,
): Promise<LogicalRequest> {
  const { maxRequestSize } = options;
  const url = req.url ?? '';
  const queryStart = url.indexOf('?');
  let path = decodePath(queryStart === -1 ? url : url.slice(0, queryStart));
  const query = queryStart === -1 ? {} : parseQuery(url.slice(queryStart + 1));
  const operation = operationFor(method, query);
  const headers = req.headers;

  // HTTP/1.1 requires a Host header, while HTTP/2 carries :authority instead.
  if (req.httpVersion === '1.1' && headers.host === undefined) {
    throw new BadRequestError('missing required Host header');
  }
  checkNamespace(headers['x-vault-namespace']);
  checkContentLength(headers['content-length'], maxRequestSize);

  let data: Record<string, unknown>;
  let rawBody: Buffer | undefined;
  if (operation === 'update' && isRawContentType(headers['content-type'])) {
    // OCSP requests arrive as DER, not JSON; the backend reads the bytes as they are.
    options.beforeBody?.();
    rawBody = await readBody(req, maxRequestSize);
    data = {};
  } else if (operation === 'update' || operation === 'patch') {
    if (operation === 'patch') checkPatchContentType(headers['content-type']);
    options.beforeBody?.();
    data = parseJsonObject(await readBody(req, maxRequestSize));
  } else {
    data = { ...query };
    delete data.list;
  }

  // Vault lists the children of a path, which it spells with a trailing slash.
  if (operation === 'list' && !path.endsWith('/')) path += '/';

  const logical: LogicalRequest = {
    id,
    operation,
    path,
    data,
    query,
    headers: copyHeaders(headers),
    clientToken: tokenFrom(headers),
    remoteAddress: req.socket?.remoteAddress ?? '',
  };
  if (rawBody) logical.rawBody = rawBody;
  const wrapTtl = headers['x-vault-wrap-ttl'];
  if (typeof wrapTtl === 'string' && wrapTtl !== '') logical.wrapTtl = parseDuration(wrapTtl, 'X-Vault-Wrap-TTL');
  return logical;
}

/** Content types whose bodies are passed to the backend as bytes instead of parsed as JSON. */
const RAW_CONTENT_TYPES = new Set(['application/ocsp-request']);

function isRawContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  return RAW_CONTENT_TYPES.has(contentType.split(';')[0].trim().toLowerCase());
}

/**
 * Returns the logical path of a request path under `/v1/`, percent-decoded and without the
 * prefix. A trailing slash is kept. Rejects dot segments, empty segments, backslashes, encoded
 * slashes and control characters with 400, so a path names exactly one place in the tree.
 */
export function decodePath(rawPath: string): string {
  if (!rawPath.startsWith(API_PREFIX)) {
    throw new NotFoundError('no handler for this path: the API is served under /v1/');
  }
  const encoded = rawPath.slice(API_PREFIX.length);
  if (encoded === '') throw new NotFoundError('no handler for this path: add a path after /v1/');
  if (encoded.includes('\\')) throw new BadRequestError('invalid path: backslashes are not allowed');

  const ocsp = OCSP_GET_PATH.exec(encoded);
  if (ocsp) return decodeOcspPath(ocsp[1], ocsp[2]);

  let path = encoded;
  if (encoded.includes('%')) {
    if (ENCODED_SEPARATOR.test(encoded)) {
      throw new BadRequestError('invalid path: encoded slashes (%2F) and backslashes (%5C) are not allowed');
    }
    try {
      path = decodeURIComponent(encoded);
    } catch {
      throw new BadRequestError('invalid path: malformed percent-encoding');
    }
  }
  // Raw control characters can still arrive over HTTP/2, where llhttp does not see the path.
  if (CONTROL_CHARACTER.test(path)) throw new BadRequestError('invalid path: control characters are not allowed');

  if (path.startsWith('/') || path.includes('//')) {
    throw new BadRequestError('invalid path: empty path segments ("//") are not allowed');
  }
  if (path.includes('.')) {
    for (const segment of path.split('/')) {
      if (segment === '.' || segment === '..') {
        throw new BadRequestError('invalid path: "." and ".." segments are not allowed');
      }
    }
  }
  return path;
}

/**
 * An OCSP GET request (RFC 6960, appendix A.1) puts the URL-encoded base64 of the DER request
 * after `ocsp/`, and base64 may contain `/`, so that last segment may hold encoded slashes.
 */
const OCSP_GET_PATH = /^(.+\/ocsp)\/([^/]+)$/;

function decodeOcspPath(encodedHead: string, encodedRequest: string): string {
  const head = decodePath(API_PREFIX + encodedHead);
  let request: string;
  try {
    request = decodeURIComponent(encodedRequest);
  } catch {
    throw new BadRequestError('invalid path: malformed percent-encoding');
  }
  if (CONTROL_CHARACTER.test(request)) throw new BadRequestError('invalid path: control characters are not allowed');
  return `${head}/${request}`;
}

/** Parses a query string; the first of repeated parameters wins, as Go's `Values.Get` reads it. */
function parseQuery(rawQuery: string): Record<string, string> {
  const query: Record<string, string> = {};
  if (rawQuery === '') return query;
  for (const [name, value] of new URLSearchParams(rawQuery)) {
    // `__proto__` would set the object's prototype instead of a property.
    if (name === '__proto__' || Object.hasOwn(query, name)) continue;
    query[name] = value;
  }
  return query;
}

/** Maps an HTTP method to the logical operation; `GET ?list=true` is a list. */
export function operationFor(method: string, query: Record<string, string>): Operation {
  switch (method) {
    case 'GET': {
      const list = query.list;
      if (list === undefined || list === '' || FALSE_VALUES.has(list)) return 'read';
      if (TRUE_VALUES.has(list)) return 'list';
      throw new BadRequestError(`invalid list parameter ${JSON.stringify(list.slice(0, 20))}: use true or false`);
    }
    case 'HEAD':
      // Load balancers probe sys/health with HEAD; Node sends no body in a HEAD response.
      return 'read';
    case 'LIST':
      return 'list';
    case 'PUT':
    case 'POST':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      throw new UnsupportedOperationError(`unsupported method ${method}: use GET, LIST, PUT, POST, PATCH or DELETE`);
  }
}

function checkNamespace(namespace: string | string[] | undefined): void {
  if (namespace === undefined) return;
  const value = Array.isArray(namespace) ? namespace.join(',') : namespace;
  if (!ROOT_NAMESPACES.has(value.trim())) {
    throw new BadRequestError('namespaces are not supported: remove the X-Vault-Namespace header');
  }
}

function checkContentLength(header: string | undefined, maxRequestSize: number): void {
  if (header === undefined) return;
  const declared = Number(header);
  if (declared > maxRequestSize) throw tooLarge(maxRequestSize);
}

function checkPatchContentType(header: string | undefined): void {
  const semicolon = header?.indexOf(';') ?? -1;
  const mediaType = (semicolon === -1 ? header : header?.slice(0, semicolon))?.trim().toLowerCase();
  if (mediaType !== MERGE_PATCH_CONTENT_TYPE) {
    throw new UnsupportedMediaTypeError(`PATCH requires the Content-Type ${MERGE_PATCH_CONTENT_TYPE}`);
  }
}

function tooLarge(maxRequestSize: number): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `request body is larger than the limit of ${maxRequestSize} bytes; raise max_request_size on the listener`,
  );
}

/**
 * Reads the whole body, rejecting with 413 as soon as it grows past `maxRequestSize`. The rest of
 * an oversized body is not kept: the data listener is removed and Node discards what follows.
 */
function readBody(req: IncomingRequest, maxRequestSize: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;

    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxRequestSize) {
        cleanup();
        reject(tooLarge(maxRequestSize));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new BadRequestError('failed to read the request body', { cause: err }));
    };
    const onClose = (): void => {
      cleanup();
      reject(new BadRequestError('the connection closed before the request body was complete'));
    };

    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/**
 * Parses a write's body as a JSON object. An empty body, whitespace or `null` mean no fields, as
 * they do to Go's JSON decoder that Vault uses.
 */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  const text = body.toString('utf8');

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    if (text.trim() === '') return {};
    // The parser's own message can quote the body, which may hold a secret, so it is not used.
    throw new BadRequestError('failed to parse the request body as JSON: send a JSON object such as {"key": "value"}');
  }
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new BadRequestError('invalid request body: expected a JSON object such as {"key": "value"}');
  }
  if (jsonDepthExceeds(value, MAX_JSON_DEPTH)) {
    throw new BadRequestError(`invalid request body: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  return value as Record<string, unknown>;
}

/** Deepest nesting of objects and arrays accepted in a request body. */
export const MAX_JSON_DEPTH = 300;

/** True when objects and arrays nest deeper than `limit`; walks without recursion. */
function jsonDepthExceeds(root: object, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (depth > limit) return true;
    for (const child of Object.values(value as object)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** Returns the client token from `X-Vault-Token`, else from `Authorization: Bearer`. */
function tokenFrom(headers: IncomingHttpHeaders): string | undefined {
  const vaultToken = headers['x-vault-token'];
  if (typeof vaultToken === 'string' && vaultToken !== '') return vaultToken.trim();

  const authorization = headers.authorization;
  if (authorization === undefined || authorization.length <= 7) return undefined;
  if (authorization.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = authorization.slice(7).trim();
  return token === '' ? undefined : token;
}

/** Copies headers into the request's map; repeated headers are joined and HTTP/2 pseudo-headers dropped. */
function copyHeaders(headers: IncomingHttpHeaders): Record<string, string | undefined> {
  const copy: Record<string, string | undefined> = {};
  for (const name of Object.keys(headers)) {
    if (name.charCodeAt(0) === 0x3a) continue;
    const value = headers[name];
    copy[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return copy;
}
