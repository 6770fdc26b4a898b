import { randomBytes } from 'node:crypto';
import { callApi, callApiOk, describeErrors } from './coffer-api.js';
import type { RequestSpec } from './load-protocol.js';

/** State the scenarios share: the server, its root token, and the mounts set up so far. */
export interface SetupContext {
  url: string;
  rootToken: string;
  /** A token with the `bench` policy and `default`, as an application would hold. */
  appToken: string;
  /** Mounts that were enabled, or the reason enabling failed, by mount path. */
  mounts: Map<string, Promise<string | null>>;
}

/** The requests a scenario sends to each target, or why it cannot run on this build. */
export type Preparation = { coffer: RequestSpec[]; bare: RequestSpec[] } | { skipped: string };

/** One benchmark scenario. */
export interface Scenario {
  name: string;
  description: string;
  /** Minimum Coffer-to-bare ratio of requests per second that the project aims for. */
  targetRatio?: number;
  prepare(context: SetupContext): Promise<Preparation>;
}

/** Policy of the application token: only what the scenarios request. */
const BENCH_POLICY = `
path "secret/data/bench-*" {
  capabilities = ["create", "read", "update"]
}
path "transit/encrypt/bench" {
  capabilities = ["update"]
}
path "transit/decrypt/bench" {
  capabilities = ["update"]
}
path "pki/issue/bench" {
  capabilities = ["create", "update"]
}
`;

/** A 256-byte secret value: 128 random bytes in hex. */
const SECRET_VALUE = randomBytes(128).toString('hex');

function json(method: RequestSpec['method'], path: string, token: string | undefined, body?: unknown): RequestSpec {
  const headers: Record<string, string> = {};
  if (token) headers['x-vault-token'] = token;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return { method, path, headers, body: body === undefined ? undefined : JSON.stringify(body) };
}

/** Copies a request for the bare server, which ignores the path, token and body contents. */
function bareTwin(spec: RequestSpec, path = '/'): RequestSpec {
  return { method: spec.method, path, headers: spec.headers, body: spec.body };
}

/**
 * Mounts KV version 2 at `secret/`, writes the policy, and creates the application token.
 * Runs once per server before any scenario.
 */
export async function prepareServer(url: string, rootToken: string): Promise<SetupContext> {
  await callApiOk(url, 'POST', 'sys/mounts/secret', { token: rootToken, body: { type: 'kv', options: { version: '2' } } });
  await callApiOk(url, 'PUT', 'sys/policies/acl/bench', { token: rootToken, body: { policy: BENCH_POLICY } });
  const created = await callApiOk(url, 'POST', 'auth/token/create', { token: rootToken, body: { policies: ['bench'], ttl: '24h' } });
  return { url, rootToken, appToken: created.auth.client_token, mounts: new Map() };
}

/**
 * Enables a secrets engine or auth method once. Resolves to null on success, or to the reason the
 * server rejected it (usually an unknown type on a build that lacks the engine).
 */
function ensureMount(context: SetupContext, apiPath: string, body: unknown): Promise<string | null> {
  let mounted = context.mounts.get(apiPath);
  if (!mounted) {
    mounted = callApi(context.url, 'POST', apiPath, { token: context.rootToken, body }).then((response) =>
      response.status >= 200 && response.status < 300 ? null : `status ${response.status}: ${describeErrors(response.body)}`,
    );
    context.mounts.set(apiPath, mounted);
  }
  return mounted;
}

/** Creates the `bench` transit key; shared by the encrypt and decrypt scenarios. */
async function ensureTransitKey(context: SetupContext): Promise<string | null> {
  const reason = await ensureMount(context, 'sys/mounts/transit', { type: 'transit' });
  if (reason) return reason;
  await callApiOk(context.url, 'POST', 'transit/keys/bench', { token: context.rootToken, body: { type: 'aes256-gcm96' } });
  return null;
}

const PLAINTEXT_1K = randomBytes(1024).toString('base64');

export const SCENARIOS: Scenario[] = [
  {
    name: 'kv-read',
    description: 'KV v2 read of a 256-byte secret',
    targetRatio: 0.5,
    async prepare(context) {
      await callApiOk(context.url, 'POST', 'secret/data/bench-read', { token: context.appToken, body: { data: { value: SECRET_VALUE } } });
      const read = json('GET', '/v1/secret/data/bench-read', context.appToken);
      return { coffer: [read], bare: [bareTwin(read)] };
    },
  },
  {
    name: 'kv-write',
    description: 'KV v2 write of a 256-byte secret, cycling over 1000 keys',
    targetRatio: 0.25,
    async prepare(context) {
      const write = json('POST', '/v1/secret/data/bench-write/{n}', context.appToken, { data: { value: SECRET_VALUE } });
      return { coffer: [{ ...write, pathVariants: 1000 }], bare: [bareTwin(write)] };
    },
  },
  {
    name: 'token-lookup-self',
    description: 'auth/token/lookup-self with the application token',
    async prepare(context) {
      const lookup = json('GET', '/v1/auth/token/lookup-self', context.appToken);
      return { coffer: [lookup], bare: [bareTwin(lookup)] };
    },
  },
  {
    name: 'approle-login',
    description: 'AppRole login with a role ID and an unlimited-use secret ID',
    targetRatio: 0.2,
    async prepare(context) {
      const reason = await ensureMount(context, 'sys/auth/approle', { type: 'approle' });
      if (reason) return { skipped: `approle not available (${reason})` };

      const token = context.rootToken;
      await callApiOk(context.url, 'POST', 'auth/approle/role/bench', {
        token,
        body: { token_policies: ['bench'], token_ttl: '1h', secret_id_num_uses: 0 },
      });
      const roleId = (await callApiOk(context.url, 'GET', 'auth/approle/role/bench/role-id', { token })).data.role_id;
      const secretId = (await callApiOk(context.url, 'POST', 'auth/approle/role/bench/secret-id', { token })).data.secret_id;
      const login = json('POST', '/v1/auth/approle/login', undefined, { role_id: roleId, secret_id: secretId });
      return { coffer: [login], bare: [bareTwin(login)] };
    },
  },
  {
    name: 'transit-encrypt',
    description: 'transit encrypt of 1 KiB with an aes256-gcm96 key',
    targetRatio: 0.4,
    async prepare(context) {
      const reason = await ensureTransitKey(context);
      if (reason) return { skipped: `transit not available (${reason})` };
      const encrypt = json('POST', '/v1/transit/encrypt/bench', context.appToken, { plaintext: PLAINTEXT_1K });
      return { coffer: [encrypt], bare: [bareTwin(encrypt)] };
    },
  },
  {
    name: 'transit-decrypt',
    description: 'transit decrypt of 1 KiB with an aes256-gcm96 key',
    async prepare(context) {
      const reason = await ensureTransitKey(context);
      if (reason) return { skipped: `transit not available (${reason})` };
      const encrypted = await callApiOk(context.url, 'POST', 'transit/encrypt/bench', { token: context.appToken, body: { plaintext: PLAINTEXT_1K } });
      const decrypt = json('POST', '/v1/transit/decrypt/bench', context.appToken, { ciphertext: encrypted.data.ciphertext });
      return { coffer: [decrypt], bare: [bareTwin(decrypt)] };
    },
  },
  {
    name: 'pki-issue',
    description: 'PKI issue of an EC P-256 leaf, against a bare keygen-and-sign loop',
    async prepare(context) {
      const reason = await ensureMount(context, 'sys/mounts/pki', { type: 'pki', config: { max_lease_ttl: '87600h' } });
      if (reason) return { skipped: `pki not available (${reason})` };

      const token = context.rootToken;
      await callApiOk(context.url, 'POST', 'pki/root/generate/internal', {
        token,
        body: { common_name: 'Coffer benchmark root', key_type: 'ec', key_bits: 256, ttl: '87600h' },
      });
      await callApiOk(context.url, 'POST', 'pki/roles/bench', {
        token,
        body: { allow_any_name: true, key_type: 'ec', key_bits: 256, ttl: '24h' },
      });
      const issue = json('POST', '/v1/pki/issue/bench', context.appToken, { common_name: 'leaf.bench.internal' });
      return { coffer: [issue], bare: [bareTwin(issue, '/keygen-sign')] };
    },
  },
];
