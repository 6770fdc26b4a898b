import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { BackendRouter } from '../../../src/framework/backend.js';
import type { Backend, BackendContext, LogicalResponse, Operation } from '../../../src/framework/types.js';
import { createDatabaseBackend } from '../../../src/engines/database/index.js';
import { readStaticRole, writeStaticRole } from '../../../src/engines/database/model.js';
import { requireService } from '../../helpers/services.js';
import { freePort } from '../../helpers/server.js';
import { memoryContext, redisAdmin, redisAvailable, redisLogin, uniqueSuffix } from './helpers.js';

const available = await redisAvailable();
const run = requireService('Redis', available, 'no Redis with ACL support answers on 127.0.0.1:6379');

const FAST = { maxSleepMs: 100, retryBaseMs: 100, retryMaxMs: 200 };

function call(backend: Backend, context: BackendContext, operation: Operation, path: string, data: Record<string, unknown> = {}): Promise<LogicalResponse | null> {
  const router = new BackendRouter(backend, context);
  const req = { id: randomUUID(), operation, path: `database/${path}`, data, query: {}, headers: {}, remoteAddress: '127.0.0.1' };
  return router.handle(router.route(req, path), operation);
}

/** Polls until the check passes; the rotation timer runs in the background. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('static role rotation scheduler', { skip: !run }, () => {
  const suffix = uniqueSuffix();
  const admin = `coffer-sched-admin-${suffix}`;
  const user = `coffer-sched-${suffix}`;
  const key = `coffer-test:${suffix}:k`;
  const context = memoryContext();
  let backend: Backend;

  const redisConfig = (port: number) => ({
    plugin_name: 'redis-database-plugin',
    host: '127.0.0.1',
    port,
    username: admin,
    password: 'sched-admin-pw',
    allowed_roles: '*',
    verify_connection: false,
  });

  /** Simulates the passing of the rotation period by moving the stored time to now. */
  async function makeDue(): Promise<void> {
    const role = (await readStaticRole(context.storage, 'app'))!;
    await writeStaticRole(context.storage, 'app', { ...role, next_rotation: Date.now() });
  }

  /** Stops the backend and starts a new one over the same storage, as a restart does. */
  async function restart(): Promise<void> {
    await backend.cleanup!();
    backend = createDatabaseBackend(context, FAST);
    await backend.initialize!();
  }

  before(async () => {
    await redisAdmin('ACL', 'SETUSER', admin, 'on', '>sched-admin-pw', '~*', '&*', '+@all');
    await redisAdmin('ACL', 'SETUSER', user, 'on', '>initial', `~coffer-test:${suffix}:*`, '+get');
    await redisAdmin('SET', key, 'v');
    backend = createDatabaseBackend(context, FAST);
    await backend.initialize!();
    await call(backend, context, 'update', 'config/redis', redisConfig(6379));
    await call(backend, context, 'update', 'static-roles/app', { db_name: 'redis', username: user, rotation_period: 5 });
  });

  after(async () => {
    await backend.cleanup!();
    await redisAdmin('ACL', 'DELUSER', admin, user);
    await redisAdmin('DEL', key);
  });

  test('due rotation runs after a restart', async () => {
    const before = (await readStaticRole(context.storage, 'app'))!;
    assert.equal(await redisLogin(user, before.password, key), 'v');
    await makeDue();
    await restart();
    await eventually(async () => (await readStaticRole(context.storage, 'app'))!.password !== before.password, 'the scheduled rotation');
    const rotated = (await readStaticRole(context.storage, 'app'))!;
    assert.equal(await redisLogin(user, rotated.password, key), 'v');
    assert.ok(rotated.next_rotation > Date.now());
  });

  test('failed rotation keeps password and retries', async () => {
    const before = (await readStaticRole(context.storage, 'app'))!;
    await call(backend, context, 'update', 'config/redis', redisConfig(await freePort()));
    await makeDue();
    await restart();
    await eventually(async () => (await readStaticRole(context.storage, 'app'))!.failed_attempts >= 2, 'two failed attempts');

    const failing = (await readStaticRole(context.storage, 'app'))!;
    assert.equal(failing.password, before.password);
    assert.match(failing.last_error ?? '', /ECONNREFUSED/);
    assert.equal(await redisLogin(user, before.password, key), 'v');

    await call(backend, context, 'update', 'config/redis', redisConfig(6379));
    await eventually(async () => (await readStaticRole(context.storage, 'app'))!.failed_attempts === 0, 'a successful retry');
    const recovered = (await readStaticRole(context.storage, 'app'))!;
    assert.notEqual(recovered.password, before.password);
    assert.equal(recovered.last_error, undefined);
    assert.equal(await redisLogin(user, recovered.password, key), 'v');
  });

  test('static role validation errors', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ db_name: 'redis', username: user, rotation_period: 2 }, /at least 5 seconds/],
      [{ db_name: 'redis', username: user }, /missing rotation_period or rotation_schedule/],
      [{ db_name: 'redis', username: user, rotation_period: 60, rotation_schedule: '0 * * * *' }, /not both/],
      [{ db_name: 'redis', username: user, rotation_schedule: '0 * * * *', rotation_window: 60 }, /at least 3600/],
      [{ db_name: 'redis', username: user, rotation_schedule: 'every hour' }, /invalid rotation_schedule/],
      [{ db_name: 'redis', username: user, rotation_period: 60, credential_type: 'rsa_private_key' }, /not supported/],
      [{ username: user, rotation_period: 60 }, /missing required field "db_name"/],
    ];
    for (const [data, message] of cases) {
      await assert.rejects(call(backend, context, 'update', 'static-roles/invalid', data), message);
    }
    await assert.rejects(call(backend, context, 'update', 'static-roles/app', { username: 'someone-else' }), /cannot change the username/);
  });
});
