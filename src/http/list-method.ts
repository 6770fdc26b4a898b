import type { Socket } from 'node:net';

/**
 * Support for Vault's `LIST` method on HTTP/1.1.
 *
 * Node's HTTP/1.1 parser (llhttp) rejects `LIST` as an unknown method, but the vault CLI, hvac and
 * other Vault clients send it. A `ListMethodRewriter` sits between the socket and Node's parser,
 * follows the HTTP/1.1 message framing of the byte stream and turns a leading `LIST ` into
 * `LINK `, which llhttp accepts. The two methods differ only in their third and fourth bytes, so
 * the rewrite is done in place on each chunk, never copying or delaying bytes. For every request
 * that reaches the parser as `LINK`, the rewriter queues whether it was `LIST` on the wire, so a
 * client's real `LINK` stays distinguishable.
 *
 * The framing follows llhttp 9 (Node 20) in its default strict mode: CRLF line endings, a
 * `Content-Length` body or a `Transfer-Encoding: chunked` body with chunk-size lines, chunk data
 * and trailers. Some streams llhttp would reject, or frame in a way the rewriter does not follow:
 * both length headers, duplicate `Content-Length`, a bare LF, obs-fold, `Upgrade`, a non-chunked
 * transfer coding. On those the rewriter stops rewriting for the rest of the connection. Node's
 * parser then rejects the malformed request with 400 on its own, and a later `LIST` on that
 * connection is rejected as an unknown method instead of being misread.
 * NOTE: running Node with `--insecure-http-parser` makes llhttp lenient and voids this framing.
 */

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const SEMICOLON = 0x3b;
const CHAR_L = 0x4c;
const CHAR_I = 0x49;
const CHAR_S = 0x53;
const CHAR_N = 0x4e;
const CHAR_T = 0x54;
const CHAR_K = 0x4b;

/** Maximum line length kept across chunks. Node's default maximum header size is 16 KiB. */
const MAX_CARRIED_LINE = 64 * 1024;

// Positions in the HTTP/1.1 message grammar.
const REQUEST_START = 0;
const METHOD = 1;
const REQUEST_LINE = 2;
const HEADER_LINE = 3;
const BODY = 4;
const CHUNK_SIZE_LINE = 5;
const CHUNK_DATA = 6;
const CHUNK_DATA_CR = 7;
const CHUNK_DATA_LF = 8;
const TRAILER_LINE = 9;
const PASSTHROUGH = 10;

// Candidates for the four-letter method while the first bytes of a request line arrive.
const MATCH_NONE = 0;
const MATCH_LIST_OR_LINK = 1;
const MATCH_LIST = 2;
const MATCH_LINK = 3;

const CONTENT_LENGTH = asciiBytes('content-length:');
const TRANSFER_ENCODING = asciiBytes('transfer-encoding:');
const UPGRADE = asciiBytes('upgrade:');
const HTTP_1_1 = asciiBytes('HTTP/1.1');

function asciiBytes(text: string): Uint8Array {
  return Uint8Array.from(text, (ch) => ch.charCodeAt(0));
}

/** Tells whether `buf[start..]` starts with `name`, comparing letters case-insensitively. */
function startsWithName(buf: Buffer, start: number, end: number, name: Uint8Array): boolean {
  if (end - start < name.length) return false;
  for (let i = 0; i < name.length; i++) {
    const expected = name[i];
    const actual = buf[start + i];
    // Only letters are folded: other bytes with bit 0x20 clear (CR, for one) must not match '-'.
    const isLetter = expected >= 0x61 && expected <= 0x7a;
    if (isLetter ? (actual | 0x20) !== expected : actual !== expected) return false;
  }
  return true;
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/**
 * Rewrites `LIST` requests to `LINK` in one connection's incoming byte stream. Feed it every chunk
 * in order with `rewrite`; call `takeListFlag` once for each request that Node parsed as `LINK`.
 */
export class ListMethodRewriter {
  /** One entry per request that reaches the parser as `LINK`: true if it was `LIST` on the wire. */
  private readonly linkRequests: boolean[] = [];
  private state = REQUEST_START;
  private methodPosition = 0;
  private methodMatch = MATCH_NONE;
  /** The start of a line that did not end in the previous chunk. */
  private lineCarry: Buffer | null = null;
  /** Bytes left of a `Content-Length` body or of the current chunk's data. */
  private remaining = 0;
  private isHttp11 = false;
  /** The request's `Content-Length`, or -1 when it has none. */
  private contentLength = -1;
  /** The request's `Transfer-Encoding` values joined with commas, or null when it has none. */
  private transferEncoding: string | null = null;

  /** True once the framing was lost and the rest of the connection is passed on unchanged. */
  get passthrough(): boolean {
    return this.state === PASSTHROUGH;
  }

  /**
   * Returns whether the oldest `LINK` request not yet taken was `LIST` on the wire, and removes it
   * from the queue. Node emits a connection's requests in wire order, so the caller must take one
   * flag for every `LINK` request it receives, in the order received. Nothing checks this.
   */
  takeListFlag(): boolean {
    return this.linkRequests.shift() ?? false;
  }

  /** Rewrites a chunk received on the connection in place and advances the framing. */
  rewrite(chunk: Buffer): void {
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      switch (this.state) {
        case PASSTHROUGH:
          return;
        case REQUEST_START:
          pos = this.startRequest(chunk, pos);
          break;
        case METHOD:
          pos = this.matchMethod(chunk, pos);
          break;
        case REQUEST_LINE:
        case HEADER_LINE:
        case CHUNK_SIZE_LINE:
        case TRAILER_LINE:
          pos = this.scanLine(chunk, pos);
          break;
        case BODY:
        case CHUNK_DATA: {
          const skipped = Math.min(this.remaining, end - pos);
          pos += skipped;
          this.remaining -= skipped;
          if (this.remaining === 0) this.state = this.state === BODY ? REQUEST_START : CHUNK_DATA_CR;
          break;
        }
        case CHUNK_DATA_CR:
          if (chunk[pos] !== CR) return this.stopRewriting();
          pos++;
          this.state = CHUNK_DATA_LF;
          break;
        case CHUNK_DATA_LF:
          if (chunk[pos] !== LF) return this.stopRewriting();
          pos++;
          this.state = CHUNK_SIZE_LINE;
          break;
      }
    }
  }

  private stopRewriting(): void {
    this.state = PASSTHROUGH;
    this.lineCarry = null;
  }

  /** Skips the empty lines llhttp allows before a request, then starts matching the method. */
  private startRequest(chunk: Buffer, pos: number): number {
    const byte = chunk[pos];
    if (byte === CR || byte === LF) return pos + 1;

    this.isHttp11 = false;
    this.contentLength = -1;
    this.transferEncoding = null;
    if (byte !== CHAR_L) {
      this.state = REQUEST_LINE;
      return pos;
    }
    this.state = METHOD;
    this.methodPosition = 1;
    this.methodMatch = MATCH_LIST_OR_LINK;
    return pos + 1;
  }

  /**
   * Matches one byte of the method against `LIST ` and `LINK `, rewriting `ST` to `NK` as soon as
   * `LIS` arrives. No valid method starts with `LIS`, so rewriting before the fifth byte arrives
   * cannot turn a valid request into a different one. The one input that would become valid
   * (`LISK`) is changed to `LINS` on purpose, so llhttp still rejects it.
   */
  private matchMethod(chunk: Buffer, pos: number): number {
    const byte = chunk[pos];
    let match = this.methodMatch;
    switch (this.methodPosition) {
      case 1:
        if (byte !== CHAR_I) match = MATCH_NONE;
        break;
      case 2:
        if (byte === CHAR_S) {
          chunk[pos] = CHAR_N;
          match = MATCH_LIST;
        } else {
          match = byte === CHAR_N ? MATCH_LINK : MATCH_NONE;
        }
        break;
      case 3:
        if (match === MATCH_LIST && byte === CHAR_T) {
          chunk[pos] = CHAR_K;
        } else if (match === MATCH_LIST) {
          if (byte === CHAR_K) chunk[pos] = CHAR_S;
          match = MATCH_NONE;
        } else if (byte !== CHAR_K) {
          match = MATCH_NONE;
        }
        break;
      default:
        if (byte === SP) this.linkRequests.push(match === MATCH_LIST);
        match = MATCH_NONE;
        break;
    }

    this.methodPosition++;
    this.methodMatch = match;
    if (match !== MATCH_NONE) return pos + 1;

    // The rest of the request line, including this byte, is scanned as a line.
    this.state = REQUEST_LINE;
    return byte === SP ? pos + 1 : pos;
  }

  /** Finds the end of the current line, joining it with the part carried from earlier chunks. */
  private scanLine(chunk: Buffer, pos: number): number {
    const lf = chunk.indexOf(LF, pos);
    if (lf === -1) {
      const piece = chunk.subarray(pos);
      const carried = this.lineCarry ? Buffer.concat([this.lineCarry, piece]) : Buffer.from(piece);
      if (carried.length > MAX_CARRIED_LINE) this.stopRewriting();
      else this.lineCarry = carried;
      return chunk.length;
    }

    if (this.lineCarry) {
      const line = Buffer.concat([this.lineCarry, chunk.subarray(pos, lf + 1)]);
      this.lineCarry = null;
      this.endLine(line, 0, line.length - 1);
    } else {
      this.endLine(chunk, pos, lf);
    }
    return lf + 1;
  }

  /** Handles a complete line `buf[start..lf]` in the current state. */
  private endLine(buf: Buffer, start: number, lf: number): void {
    // llhttp in strict mode rejects a line that ends in a bare LF.
    if (lf === start || buf[lf - 1] !== CR) return this.stopRewriting();
    const end = lf - 1;

    switch (this.state) {
      case REQUEST_LINE:
        this.isHttp11 = end - start >= HTTP_1_1.length && startsWithName(buf, end - HTTP_1_1.length, end, HTTP_1_1);
        this.state = HEADER_LINE;
        return;
      case HEADER_LINE:
        if (end === start) return this.endHeaders();
        return this.readHeader(buf, start, end);
      case CHUNK_SIZE_LINE:
        return this.readChunkSize(buf, start, end);
      case TRAILER_LINE:
        if (end === start) this.state = REQUEST_START;
        return;
    }
  }

  /** Records the headers that decide the body's framing. */
  private readHeader(buf: Buffer, start: number, end: number): void {
    const first = buf[start];
    // A line folded onto the previous header (obs-fold) could hide a length header.
    if (first === SP || first === HTAB) return this.stopRewriting();

    const lower = first | 0x20;
    if (lower === 0x63 && startsWithName(buf, start, end, CONTENT_LENGTH)) {
      const length = parseContentLength(buf, start + CONTENT_LENGTH.length, end);
      if (length < 0 || this.contentLength >= 0) return this.stopRewriting();
      this.contentLength = length;
    } else if (lower === 0x74 && startsWithName(buf, start, end, TRANSFER_ENCODING)) {
      const value = buf.toString('latin1', start + TRANSFER_ENCODING.length, end);
      this.transferEncoding = this.transferEncoding === null ? value : `${this.transferEncoding},${value}`;
    } else if (lower === 0x75 && startsWithName(buf, start, end, UPGRADE)) {
      // After an upgrade the rest of the stream is another protocol.
      this.stopRewriting();
    }
  }

  private endHeaders(): void {
    if (this.transferEncoding !== null) {
      const chunked = this.contentLength < 0 && this.isHttp11 && isChunkedLast(this.transferEncoding);
      if (!chunked) return this.stopRewriting();
      this.state = CHUNK_SIZE_LINE;
    } else if (this.contentLength > 0) {
      this.remaining = this.contentLength;
      this.state = BODY;
    } else {
      this.state = REQUEST_START;
    }
  }

  private readChunkSize(buf: Buffer, start: number, end: number): void {
    let size = 0;
    let pos = start;
    for (; pos < end; pos++) {
      const digit = hexValue(buf[pos]);
      if (digit < 0) break;
      size = size * 16 + digit;
      if (size > Number.MAX_SAFE_INTEGER) return this.stopRewriting();
    }
    if (pos === start) return this.stopRewriting();
    // Only a chunk extension (`;name=value`, optionally after whitespace) may follow the size.
    if (pos < end && buf[pos] !== SEMICOLON && buf[pos] !== SP && buf[pos] !== HTAB) {
      return this.stopRewriting();
    }

    if (size === 0) {
      this.state = TRAILER_LINE;
    } else {
      this.remaining = size;
      this.state = CHUNK_DATA;
    }
  }
}

/** Parses a `Content-Length` value as llhttp accepts it: digits between spaces; -1 if invalid. */
function parseContentLength(buf: Buffer, start: number, end: number): number {
  while (start < end && buf[start] === SP) start++;
  while (end > start && buf[end - 1] === SP) end--;
  if (start === end) return -1;

  let length = 0;
  for (let pos = start; pos < end; pos++) {
    const digit = buf[pos] - 0x30;
    if (digit < 0 || digit > 9) return -1;
    length = length * 10 + digit;
    if (length > Number.MAX_SAFE_INTEGER) return -1;
  }
  return length;
}

/** Tells whether `chunked` is the last transfer coding and appears only once. */
function isChunkedLast(transferEncoding: string): boolean {
  const codings = transferEncoding.split(',').map((coding) => coding.trim().toLowerCase());
  return codings[codings.length - 1] === 'chunked' && codings.indexOf('chunked') === codings.length - 1;
}

const kRewriter = Symbol('coffer.listMethodRewriter');

interface RewrittenSocket extends Socket {
  [kRewriter]?: ListMethodRewriter;
}

/**
 * Installs a `ListMethodRewriter` on a socket. Call it from the server's `connection` (or, for TLS,
 * `secureConnection`) event before Node's HTTP server attaches its parser, that is from a listener
 * added with `prependListener`.
 *
 * Node's HTTP server normally feeds the socket's native handle straight into its parser, which
 * bypasses JavaScript. Marking the handle as consumed makes the server read through the socket's
 * `data` events instead, and the wrapped `emit` rewrites each chunk before any listener receives
 * it. The socket itself stays the real one, so `remoteAddress` and TLS details are unchanged.
 * NOTE: `_handle._consumed` is a Node internal, checked on Node 20 by the tests of this module.
 */
export function installListMethodRewriter(socket: Socket): void {
  const rewriter = new ListMethodRewriter();
  const target = socket as RewrittenSocket;
  target[kRewriter] = rewriter;

  const handle = (socket as unknown as { _handle?: { _consumed?: boolean } | null })._handle;
  if (handle) handle._consumed = true;

  const emit = socket.emit;
  socket.emit = function emitRewritten(this: Socket, event: string | symbol, chunk?: unknown): boolean {
    if (event === 'data' && Buffer.isBuffer(chunk)) rewriter.rewrite(chunk);
    // Passes every argument on unchanged, without copying them into a new array.
    return Reflect.apply(emit, this, arguments) as boolean;
  } as Socket['emit'];
}

/**
 * Returns the method the client sent: `LIST` for a request that the socket's rewriter turned into
 * `LINK`, otherwise the parsed method. Call it once per request, synchronously in the `request`
 * event, because each `LINK` takes the next flag of the connection's queue. HTTP/2 requests carry
 * `LIST` natively and pass through unchanged.
 */
export function restoreRequestMethod(method: string, socket: Socket | null | undefined): string {
  if (method !== 'LINK' || !socket) return method;
  const rewriter = (socket as RewrittenSocket)[kRewriter];
  return rewriter?.takeListFlag() ? 'LIST' : method;
}
