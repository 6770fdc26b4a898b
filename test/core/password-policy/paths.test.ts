import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { BackendRouter } from '../../../src/framework/backend.js';
import type { BackendContext, LogicalResponse, Operation } from '../../../src/framework/types.js';
import { InmemPhysical } from '../../../src/storage/inmem.js';
import { generatePasswordFromPolicy, passwordPolicyPaths } from '../../../src/core/password-policy/paths.js';

function setup() {
  const storage = new InmemPhysical();
  const context: BackendContext = {
    storage,
    logger: pino({ level: 'silent' }),
    system: { defaultLeaseTtl: () => 0, maxLeaseTtl: () => 0 },
    mountPoint: 'sys/',
    mountType: 'system',
    options: {},
  };
  const router = new BackendRouter({ paths: passwordPolicyPaths(storage) }, context);
  const call = (operation: Operation, path: string, data: Record<string, unknown> = {}): Promise<LogicalResponse | null> => {
    const req = { id: randomUUID(), operation, path: `sys/${path}`, data, query: {}, headers: {}, remoteAddress: '127.0.0.1' };
    return router.handle(router.route(req, path), operation);
  };
  return { storage, call };
}

const POLICY = 'length = 12\nrule "charset" {\n  charset = "xyz"\n  min-chars = 1\n}\n';

test('password policy write, read, generate, list, delete', async () => {
  const { storage, call } = setup();
  assert.equal(await call('update', 'policies/password/short', { policy: POLICY }), null);
  assert.deepEqual((await call('read', 'policies/password/short'))?.data, { policy: POLICY });
  const generated = await call('read', 'policies/password/short/generate');
  assert.match(String(generated?.data?.password), /^[xyz]{12}$/);
  assert.match(await generatePasswordFromPolicy(storage, 'short'), /^[xyz]{12}$/);
  assert.deepEqual((await call('list', 'policies/password'))?.data, { keys: ['short'] });
  await call('delete', 'policies/password/short');
  assert.equal(await call('read', 'policies/password/short'), null);
});

test('password policy bad writes and unknown names', async () => {
  const { storage, call } = setup();
  await assert.rejects(call('update', 'policies/password/empty', {}), /missing required field "policy"/);
  await assert.rejects(call('update', 'policies/password/bad', { policy: 'length = 2' }), /invalid password policy/);
  await assert.rejects(call('read', 'policies/password/absent/generate'), /password policy "absent" not found/);
  await assert.rejects(generatePasswordFromPolicy(storage, 'absent'), (err: Error & { status?: number }) => err.status === 400);
});
