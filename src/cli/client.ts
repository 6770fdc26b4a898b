import { request as httpsRequest } from 'node:https';

/** The `auth` block of a response that issued or renewed a token. */
export interface AuthInfo {
  client_token: string;
  accessor?: string;
  policies?: string[] | null;
  token_policies?: string[] | null;
  identity_policies?: string[] | null;
  metadata?: Record<string, string> | null;
  lease_duration?: number;
  renewable?: boolean;
  [key: string]: unknown;
}

/** The `wrap_info` block of a wrapped response. */
export interface WrapInfo {
  token: string;
  accessor?: string;
  ttl?: number;
  creation_time?: string;
  creation_path?: string;
  wrapped_accessor?: string;
  [key: string]: unknown;
}

/** A Vault-style response body; fields other than these are kept for JSON output. */
export interface SecretBody {
  request_id?: string;
  lease_id?: string;
  lease_duration?: number;
  renewable?: boolean;
  data?: Record<string, unknown> | null;
  warnings?: string[] | null;
  auth?: AuthInfo | null;
  wrap_info?: WrapInfo | null;
  [key: string]: unknown;
}

/** Connection settings for the HTTP API, resolved from flags and the environment. */
export interface ClientConfig {
  /** Base URL such as `http://127.0.0.1:8200`, without a trailing slash. */
  address: string;
  token?: string;
  /** PEM text of the CA certificates to trust for https, instead of the system store. */
  caCertPem?: string;
  tlsSkipVerify: boolean;
  /** Sent as X-Vault-Wrap-TTL so the server wraps the response in a single-use token. */
  wrapTtl?: string;
}

/** The server responded with a status of 400 or more. */
export class ApiError extends Error {
  readonly status: number;
  readonly errors: string[];
  readonly body: SecretBody | null;

  constructor(status: number, errors: string[], body: SecretBody | null) {
    super(errors.length > 0 ? errors.join('; ') : `status ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.errors = errors;
    this.body = body;
  }
}

/** The request never reached the server, or its response could not be read. */
export class ConnectionError extends Error {
  readonly address: string;
  /** The system error code such as ECONNREFUSED, when there is one. */
  readonly code?: string;

  constructor(address: string, message: string, code?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectionError';
    this.address = address;
    this.code = code;
  }
}

/** Options of one request. */
export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string>;
  /** Overrides the configured token, e.g. to verify a token before `login` stores it. */
  token?: string;
  contentType?: string;
  /** Set false to send this request unwrapped even when -wrap-ttl is set (KV version checks). */
  wrap?: boolean;
}

/** A client of Coffer's `/v1/` HTTP API. */
export class CofferClient {
  readonly config: ClientConfig;

  constructor(config: ClientConfig) {
    this.config = config;
  }

  /**
   * Sends one request and returns the parsed body, or null for an empty body (204). Throws
   * ApiError for a status of 400 or more and ConnectionError when the server cannot be reached.
   */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<SecretBody | null> {
    const url = new URL(`${this.config.address}/v1/${path.replace(/^\/+/, '')}`);
    for (const [key, value] of Object.entries(options.query ?? {})) url.searchParams.set(key, value);

    const headers: Record<string, string> = { 'X-Vault-Request': 'true' };
    const token = options.token ?? this.config.token;
    if (token !== undefined && token !== '') headers['X-Vault-Token'] = token;
    const wrapTtl = this.config.wrapTtl ?? defaultWrapTtl(method, path);
    if (wrapTtl !== undefined && options.wrap !== false) headers['X-Vault-Wrap-TTL'] = wrapTtl;
    let payload: string | undefined;
    if (options.body !== undefined) {
      payload = JSON.stringify(options.body);
      headers['Content-Type'] = options.contentType ?? 'application/json';
    }

    const { status, text } = await this.send(method, url, headers, payload);
    const body = parseBody(text);
    if (status >= 400) {
      const errors = Array.isArray(body?.errors) ? body.errors.map(String) : [];
      throw new ApiError(status, errors, body);
    }
    return body;
  }

  /** Reads a path; returns null when nothing is there (404), as Vault's client does. */
  async read(path: string, query?: Record<string, string>, options: Omit<RequestOptions, 'query'> = {}): Promise<SecretBody | null> {
    try {
      return await this.request('GET', path, { ...options, query });
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  }

  /** Lists the keys under a path with `GET ?list=true`; returns null when there are none (404). */
  list(path: string): Promise<SecretBody | null> {
    return this.read(path, { list: 'true' });
  }

  /** Writes data to a path with PUT. */
  write(path: string, data: unknown): Promise<SecretBody | null> {
    return this.request('PUT', path, { body: data });
  }

  /** Deletes a path. */
  delete(path: string, query?: Record<string, string>): Promise<SecretBody | null> {
    return this.request('DELETE', path, { query });
  }

  private async send(
    method: string,
    url: URL,
    headers: Record<string, string>,
    payload: string | undefined,
  ): Promise<{ status: number; text: string }> {
    const customTls = this.config.caCertPem !== undefined || this.config.tlsSkipVerify;
    try {
      if (url.protocol === 'https:' && customTls) {
        return await this.sendWithNodeHttps(method, url, headers, payload);
      }
      const response = await fetch(url, { method, headers, body: payload });
      return { status: response.status, text: await response.text() };
    } catch (err) {
      throw toConnectionError(this.config.address, err);
    }
  }

  /**
   * Sends over node:https, because fetch takes TLS options only through an undici Agent and the
   * `undici` package is not installed.
   */
  private sendWithNodeHttps(
    method: string,
    url: URL,
    headers: Record<string, string>,
    payload: string | undefined,
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const outgoing = httpsRequest(
        url,
        {
          method,
          headers: payload === undefined ? headers : { ...headers, 'Content-Length': Buffer.byteLength(payload) },
          ca: this.config.caCertPem,
          rejectUnauthorized: !this.config.tlsSkipVerify,
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          incoming.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(payload);
    });
  }
}

function parseBody(text: string): SecretBody | null {
  if (text.trim() === '') return null;
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' ? (parsed as SecretBody) : null;
  } catch {
    // A non-JSON body (a proxy's error page, say) carries no Vault fields; keep a short excerpt.
    return { errors: [text.trim().slice(0, 200)] };
  }
}

function toConnectionError(address: string, err: unknown): ConnectionError {
  // fetch wraps the system error in `cause`; node:https raises it directly.
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const code = (cause as { code?: unknown } | null)?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new ConnectionError(address, message, typeof code === 'string' ? code : undefined, { cause: err });
}

/** sys/wrapping/wrap only makes sense wrapped, so writes to it default to a five-minute TTL, as Vault's CLI does. */
function defaultWrapTtl(method: string, path: string): string | undefined {
  const write = method === 'PUT' || method === 'POST';
  return write && path.replace(/^\/+/, '') === 'sys/wrapping/wrap' ? '5m' : undefined;
}
