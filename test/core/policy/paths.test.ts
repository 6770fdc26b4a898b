import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { decodePolicyText, policyPaths } from '../../../src/core/policy/paths.js';
import { PolicyStore } from '../../../src/core/policy/store.js';
import { BadRequestError, NotFoundError, PermissionDeniedError, UnsupportedOperationError } from '../../../src/errors.js';
import { BackendRouter } from '../../../src/framework/backend.js';
import type { LogicalRequest, LogicalResponse, Operation, RequestAuth } from '../../../src/framework/types.js';
import { InmemPhysical } from '../../../src/storage/inmem.js';
import { StorageView } from '../../../src/storage/storage.js';

const READ_SECRET = 'path "secret/*" {\n  capabilities = ["read", "list"]\n}\n';

/** Token fixtures the lookups resolve; no real token store is involved in these paths. */
const TOKENS: Record<string, string[]> = { 'hvs.dev': ['dev', 'default'], 'hvs.root': ['root'] };
const ACCESSORS: Record<string, string[]> = { 'acc-dev': ['dev'] };

let router: BackendRouter;
let store: PolicyStore;

beforeEach(() => {
  const storage = new StorageView(new InmemPhysical(), 'sys/');
  store = new PolicyStore(storage);
  const paths = policyPaths({
    store,
    lookupTokenPolicies: async (token) => TOKENS[token] ?? null,
    lookupAccessorPolicies: async (accessor) => ACCESSORS[accessor] ?? null,
  });
  router = new BackendRouter(
    { paths },
    {
      storage,
      logger: pino({ level: 'silent' }),
      system: { defaultLeaseTtl: () => 3600, maxLeaseTtl: () => 86400 },
      mountPoint: 'sys/',
      mountType: 'system',
      options: {},
    },
  );
});

interface CallOptions {
  data?: Record<string, unknown>;
  query?: Record<string, string>;
  auth?: RequestAuth;
}

/** Routes a request to the sys policy paths as the pipeline would, without HTTP. */
async function call(operation: Operation, path: string, options: CallOptions = {}): Promise<LogicalResponse | null> {
  const req: LogicalRequest = {
    id: 'req-1',
    operation,
    path: `sys/${path}`,
    data: options.data ?? {},
    query: options.query ?? {},
    headers: {},
    remoteAddress: '127.0.0.1',
    auth: options.auth,
  };
  const routed = router.route(req, path);
  return router.handle(routed, operation);
}

function authWith(policies: string[], root = false): RequestAuth {
  return { tokenId: 'id', accessor: 'acc', policies, displayName: 'token', metadata: {}, entityId: '', root, sudo: root };
}

describe('sys/policy', () => {
  it('writes, reads and deletes', async () => {
    assert.equal(await call('update', 'policy/Dev', { data: { policy: READ_SECRET } }), null);
    const read = await call('read', 'policy/dev');
    assert.deepEqual(read?.data, { name: 'dev', rules: READ_SECRET });
    assert.equal(read?.mirrorDataAtTopLevel, true);

    assert.equal(await call('delete', 'policy/dev'), null);
    await assert.rejects(call('read', 'policy/dev'), NotFoundError);
  });

  it('accepts the legacy rules field', async () => {
    await call('update', 'policy/legacy', { data: { rules: READ_SECRET } });
    assert.equal((await store.get('legacy'))?.raw, READ_SECRET);
  });

  it('lists with policies and keys', async () => {
    await call('update', 'policy/dev', { data: { policy: READ_SECRET } });
    for (const op of ['read', 'list'] as Operation[]) {
      const response = await call(op, 'policy');
      assert.deepEqual(response?.data, { policies: ['default', 'dev', 'root'], keys: ['default', 'dev', 'root'] });
      assert.equal(response?.mirrorDataAtTopLevel, true);
    }
    const slash = await call('list', 'policy/');
    assert.deepEqual(slash?.data?.keys, ['default', 'dev', 'root']);
  });

  it('rejects an invalid policy with its line', async () => {
    await assert.rejects(call('update', 'policy/bad', { data: { policy: 'path "a" {\n\n  capabilities = ["raed"]\n}' } }), (err: unknown) => {
      assert.ok(err instanceof BadRequestError);
      assert.equal(err.status, 400);
      assert.match(err.message, /policy "bad", line 3: .*unknown capability "raed"/);
      return true;
    });
  });

  it('rejects a missing policy body', async () => {
    await assert.rejects(call('update', 'policy/empty', { data: {} }), /missing "policy"/);
    await assert.rejects(call('update', 'policy/empty', { data: { policy: '  ' } }), /missing "policy"/);
  });

  it('ignores unknown fields with a warning', async () => {
    const response = await call('update', 'policy/x', { data: { policy: READ_SECRET, colour: 'red' } });
    assert.deepEqual(response?.warnings, ['ignored unrecognized parameters: colour']);
  });

  it('answers 404 for root and 400 for writing it', async () => {
    await assert.rejects(call('read', 'policy/root'), (err: unknown) => err instanceof NotFoundError && /built in/.test(err.message));
    await assert.rejects(call('update', 'policy/root', { data: { policy: READ_SECRET } }), BadRequestError);
    await assert.rejects(call('delete', 'policy/root'), BadRequestError);
    await assert.rejects(call('delete', 'policy/default'), BadRequestError);
  });

  it('reads the default policy', async () => {
    const response = await call('read', 'policy/default');
    assert.match(String(response?.data?.rules), /auth\/token\/lookup-self/);
  });
});

describe('sys/policies/acl', () => {
  it('writes, reads and deletes', async () => {
    await call('update', 'policies/acl/ops', { data: { policy: READ_SECRET } });
    const read = await call('read', 'policies/acl/ops');
    assert.deepEqual(read?.data, { name: 'ops', policy: READ_SECRET });
    await call('delete', 'policies/acl/ops');
    await assert.rejects(call('read', 'policies/acl/ops'), NotFoundError);
  });

  it('accepts a base64-encoded policy', async () => {
    const encoded = Buffer.from(READ_SECRET).toString('base64');
    await call('update', 'policies/acl/enc', { data: { policy: encoded } });
    assert.equal((await store.get('enc'))?.raw, READ_SECRET);
  });

  it('accepts a JSON policy', async () => {
    const text = JSON.stringify({ path: { 'kv/*': { capabilities: ['read'] } } });
    await call('update', 'policies/acl/json', { data: { policy: text } });
    assert.equal((await store.get('json'))?.raw, text);
  });

  it('lists keys with paging', async () => {
    for (const name of ['a', 'b', 'c']) await call('update', `policies/acl/${name}`, { data: { policy: READ_SECRET } });
    const all = await call('list', 'policies/acl');
    assert.deepEqual(all?.data, { keys: ['a', 'b', 'c', 'default', 'root'] });
    const page = await call('list', 'policies/acl/', { query: { after: 'a', limit: '2' } });
    assert.deepEqual(page?.data, { keys: ['b', 'c'] });
    await assert.rejects(call('list', 'policies/acl', { query: { limit: 'ten' } }), /invalid "limit"/);
  });

  it('does not read the list path', async () => {
    await assert.rejects(call('read', 'policies/acl'), UnsupportedOperationError);
  });
});

describe('sys/capabilities', () => {
  beforeEach(async () => {
    await store.set('dev', READ_SECRET + 'path "secret/admin" {\n  capabilities = ["deny"]\n}\n');
  });

  it('reports a token on one path', async () => {
    const response = await call('update', 'capabilities', { data: { token: 'hvs.dev', path: 'secret/app' } });
    assert.deepEqual({ ...response?.data }, { 'secret/app': ['list', 'read'], capabilities: ['list', 'read'] });
    assert.equal(response?.mirrorDataAtTopLevel, true);
  });

  it('reports a token on several paths', async () => {
    const response = await call('update', 'capabilities', { data: { token: 'hvs.dev', paths: ['secret/app', 'secret/admin', 'other'] } });
    assert.deepEqual({ ...response?.data }, { 'secret/app': ['list', 'read'], 'secret/admin': ['deny'], other: ['deny'] });
  });

  it('accepts comma-separated paths', async () => {
    const response = await call('update', 'capabilities', { data: { token: 'hvs.dev', paths: 'secret/a,cubbyhole/x' } });
    assert.deepEqual(response?.data?.['cubbyhole/x'], ['create', 'delete', 'list', 'read', 'update']);
  });

  it('reports root for a root token', async () => {
    const response = await call('update', 'capabilities', { data: { token: 'hvs.root', paths: ['sys/seal'] } });
    assert.deepEqual(response?.data?.capabilities, ['root']);
  });

  it('rejects a bad or missing token', async () => {
    await assert.rejects(call('update', 'capabilities', { data: { token: 'hvs.unknown', paths: ['a'] } }), (err: unknown) => {
      assert.ok(err instanceof BadRequestError);
      assert.equal(err.message, 'invalid token');
      return true;
    });
    await assert.rejects(call('update', 'capabilities', { data: { paths: ['a'] } }), /missing "token"/);
    await assert.rejects(call('update', 'capabilities', { data: { token: 'hvs.dev' } }), /missing "paths"/);
  });

  it('keeps a "__proto__" path as a key', async () => {
    const response = await call('update', 'capabilities', { data: { token: 'hvs.dev', paths: ['__proto__', 'secret/a'] } });
    assert.deepEqual(Object.keys(response?.data ?? {}), ['__proto__', 'secret/a']);
    assert.deepEqual(response?.data?.['__proto__'], ['deny']);
  });

  it('reports the calling token with capabilities-self', async () => {
    const response = await call('update', 'capabilities-self', { data: { paths: ['secret/app'] }, auth: authWith(['dev']) });
    assert.deepEqual(response?.data?.capabilities, ['list', 'read']);
    const root = await call('update', 'capabilities-self', { data: { paths: ['x'] }, auth: authWith([], true) });
    assert.deepEqual(root?.data?.capabilities, ['root']);
    await assert.rejects(call('update', 'capabilities-self', { data: { paths: ['x'] } }), PermissionDeniedError);
  });

  it('reports by accessor', async () => {
    const response = await call('update', 'capabilities-accessor', { data: { accessor: 'acc-dev', paths: ['secret/app'] } });
    assert.deepEqual(response?.data?.capabilities, ['list', 'read']);
    await assert.rejects(call('update', 'capabilities-accessor', { data: { accessor: 'nope', paths: ['a'] } }), /invalid accessor/);
    await assert.rejects(call('update', 'capabilities-accessor', { data: { paths: ['a'] } }), /missing "accessor"/);
  });
});

describe('decodePolicyText', () => {
  it('leaves plain text alone', () => {
    assert.equal(decodePolicyText(READ_SECRET), READ_SECRET);
    assert.equal(decodePolicyText('{"path":{}}'), '{"path":{}}');
  });

  it('keeps base64 that is not UTF-8', () => {
    assert.equal(decodePolicyText('//79'), '//79');
  });
});
