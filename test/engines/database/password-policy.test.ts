import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { BackendRouter } from '../../../src/framework/backend.js';
import type { Backend, BackendContext, LogicalResponse, Operation } from '../../../src/framework/types.js';
import { createDatabaseBackend } from '../../../src/engines/database/index.js';
import { generatePasswordFromPolicy, passwordPolicyPaths } from '../../../src/core/password-policy/paths.js';
import { InmemPhysical } from '../../../src/storage/inmem.js';
import { requireService } from '../../helpers/services.js';
import { leaseContext, memoryContext, redisAdmin, redisAvailable, redisLogin, uniqueSuffix } from './helpers.js';

const available = await redisAvailable();
const run = requireService('Redis', available, 'no Redis with ACL support answers on 127.0.0.1:6379');

function call(backend: Backend, context: BackendContext, operation: Operation, path: string, data: Record<string, unknown> = {}): Promise<LogicalResponse | null> {
  const router = new BackendRouter(backend, context);
  const req = { id: randomUUID(), operation, path: `x/${path}`, data, query: {}, headers: {}, remoteAddress: '127.0.0.1' };
  return router.handle(router.route(req, path), operation);
}

describe('database engine with a password policy', { skip: !run }, () => {
  const suffix = uniqueSuffix();
  const key = `coffer-test:${suffix}:k`;
  const policyStorage = new InmemPhysical();
  const context = memoryContext({
    system: {
      defaultLeaseTtl: () => 60,
      maxLeaseTtl: () => 120,
      generatePasswordFromPolicy: (name) => generatePasswordFromPolicy(policyStorage, name),
    },
  });
  const backend = createDatabaseBackend(context);
  const sys = { paths: passwordPolicyPaths(policyStorage) };

  after(async () => {
    await backend.cleanup!();
    await redisAdmin('DEL', key);
  });

  test('creds use the named policy', async () => {
    await redisAdmin('SET', key, 'v');
    await call(sys, context, 'update', 'policies/password/digits', { policy: 'length = 30\nrule "charset" {\n charset = "0123456789"\n}' });
    await call(backend, context, 'update', 'config/redis', {
      plugin_name: 'redis-database-plugin',
      host: '127.0.0.1',
      port: 6379,
      username: 'default',
      password: 'unused',
      allowed_roles: 'reader',
      password_policy: 'digits',
      username_template: `{{ printf "coffer-pp-${suffix}-%s" (random 6) }}`,
    });
    await call(backend, context, 'update', 'roles/reader', { db_name: 'redis', creation_statements: [`~coffer-test:${suffix}:*`, '+get'] });
    const creds = await call(backend, context, 'read', 'creds/reader');
    const { username, password } = creds!.data as { username: string; password: string };
    assert.match(password, /^\d{30}$/);
    assert.equal(creds!.secret!.ttl, 60);
    assert.equal(creds!.secret!.maxTtl, 120);
    assert.equal(await redisLogin(username, password, key), 'v');
    await backend.secretTypes!.creds.revoke(leaseContext(context, creds!.secret!.internalData));
    await assert.rejects(redisLogin(username, password, key), /WRONGPASS/);
  });

  test('unknown policy name is a 400', async () => {
    await call(backend, context, 'update', 'config/redis', { password_policy: 'absent', verify_connection: false });
    await assert.rejects(call(backend, context, 'read', 'creds/reader'), (err: Error & { status?: number }) => {
      assert.equal(err.status, 400);
      assert.match(err.message, /password policy "absent" not found/);
      return true;
    });
  });
});
