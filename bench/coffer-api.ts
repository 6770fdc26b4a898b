// The few Vault API calls the benchmark makes to set Coffer up, sent with fetch to loopback only.

/** Status and parsed JSON body of one API call. */
export interface ApiResponse {
  status: number;
  body: any;
}

/** Sends one request to `/v1/PATH` of the server at `url`. */
export async function callApi(url: string, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = {};
  if (options.token) headers['X-Vault-Token'] = options.token;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${url}/v1/${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { errors: [`response is not JSON: ${text.slice(0, 200)}`] };
  }
  return { status: response.status, body };
}

/** Sends one request and throws, with the server's error messages, unless the status is 2xx. */
export async function callApiOk(url: string, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<any> {
  const response = await callApi(url, method, path, options);
  if (response.status < 200 || response.status > 299) {
    throw new Error(`${method} /v1/${path} failed with status ${response.status}: ${describeErrors(response.body)}`);
  }
  return response.body;
}

/** Returns the `errors` of a Vault error body as one line. */
export function describeErrors(body: unknown): string {
  const errors = (body as { errors?: unknown } | null)?.errors;
  return Array.isArray(errors) && errors.length > 0 ? errors.join('; ') : 'no error message';
}

/** Unseal key shares and root token of a freshly initialized server. */
export interface InitResult {
  keys: string[];
  rootToken: string;
}

/** Initializes a new server with 5 shares and a threshold of 3, as a production setup would. */
export async function initialize(url: string): Promise<InitResult> {
  const body = await callApiOk(url, 'PUT', 'sys/init', { body: { secret_shares: 5, secret_threshold: 3 } });
  return { keys: body.keys, rootToken: body.root_token };
}

/** Submits unseal shares until the server reports that it is unsealed. */
export async function unseal(url: string, keys: string[]): Promise<void> {
  for (const key of keys) {
    const body = await callApiOk(url, 'PUT', 'sys/unseal', { body: { key } });
    if (body.sealed === false) return;
  }
  throw new Error(`server is still sealed after ${keys.length} unseal key shares`);
}

/** Enables a `file` audit device that writes to `filePath`. */
export async function enableFileAudit(url: string, token: string, filePath: string): Promise<void> {
  await callApiOk(url, 'PUT', 'sys/audit/file', { token, body: { type: 'file', options: { file_path: filePath } } });
}
