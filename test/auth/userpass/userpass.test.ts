import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { userpassBackend, type UserpassBackend } from '../../../src/auth/userpass/index.js';
import { BadRequestError } from '../../../src/errors.js';
import { MALFORMED_TTLS, mountAuth, snapshot, type AuthHarness } from '../harness.js';

/** Matches the one login failure: a 400 that does not say whether the user exists. */
const LOGIN_FAILED = (err: unknown) => err instanceof BadRequestError && err.message === 'invalid username or password';

const mount = () => mountAuth<UserpassBackend>(userpassBackend, 'userpass');

function login(h: AuthHarness<UserpassBackend>, name: string, password: unknown, remoteAddress = '127.0.0.1') {
  return h.request('update', `login/${name}`, { data: { password }, remoteAddress });
}

describe('userpass users', () => {
  test('create, read, list and delete', async () => {
    const h = await mount();
    assert.equal(await h.writeKind('users/mary'), 'create');
    const written = await h.request('update', 'users/Mary', {
      data: { password: 'pw-1', token_policies: ['admin', 'default'], token_bound_cidrs: ['127.0.0.1', '128.252.0.0/16'] },
    });
    assert.equal(written, null);
    assert.equal(await h.writeKind('users/mary'), 'update');

    assert.deepEqual((await h.request('read', 'users/mary'))?.data, {
      token_policies: ['admin', 'default'],
      policies: ['admin', 'default'],
      token_ttl: 0,
      token_max_ttl: 0,
      token_explicit_max_ttl: 0,
      token_period: 0,
      token_num_uses: 0,
      token_bound_cidrs: ['127.0.0.1', '128.252.0.0/16'],
      token_no_default_policy: false,
      token_type: 'default',
    });
    assert.deepEqual((await h.request('list', 'users'))?.data, { keys: ['mary'] });

    assert.equal(await h.request('delete', 'users/MARY'), null);
    assert.equal(await h.request('read', 'users/mary'), null);
    assert.equal(await h.request('list', 'users/'), null);
  });

  test('list is paginated', async () => {
    const h = await mount();
    for (const name of ['a', 'b', 'c']) await h.request('update', `users/${name}`, { data: { password: 'x' } });
    assert.deepEqual((await h.request('list', 'users', { query: { limit: '2' } }))?.data, { keys: ['a', 'b'] });
    assert.deepEqual((await h.request('list', 'users', { query: { after: 'a' } }))?.data, { keys: ['b', 'c'] });
  });

  test('passwords are stored as scrypt hashes', async () => {
    const h = await mount();
    await h.request('update', 'users/mary', { data: { password: 'plain-text-secret' } });
    const stored = JSON.parse((await h.storage.get('user/mary'))!.toString('utf8'));
    assert.equal(stored.password.algorithm, 'scrypt');
    assert.equal(stored.password.n, 32768);
    assert.equal(stored.password.r, 8);
    assert.equal(stored.password.p, 1);
    assert.equal(Buffer.from(stored.password.salt, 'base64').length, 16);
    assert.ok(!JSON.stringify(stored).includes('plain-text-secret'));
  });

  test('create needs a password', async () => {
    const h = await mount();
    await assert.rejects(h.request('update', 'users/mary', { data: { token_policies: 'a' } }), /missing "password"/);
    await assert.rejects(h.request('update', 'users/mary', { data: { password: '' } }), /missing "password"/);
    await assert.rejects(h.request('update', 'users/mary', { data: { password_hash: '$2a$10$abc' } }), /password_hash/);
    assert.equal(await h.request('read', 'users/mary'), null);
  });

  test('invalid usernames are rejected', async () => {
    const h = await mount();
    for (const name of ['-lead', '.dot', 'dot.', 'sp ace', 'semi;colon', 'x'.repeat(256)]) {
      await assert.rejects(h.request('update', `users/${name}`, { data: { password: 'x' } }), /invalid username/, name.slice(0, 10));
    }
  });

  test('malformed values change nothing', async () => {
    const h = await mount();
    await h.request('update', 'users/mary', { data: { password: 'pw', token_ttl: 60 } });
    const before = await snapshot(h.storage);
    for (const field of ['token_ttl', 'token_max_ttl', 'token_period', 'token_explicit_max_ttl', 'ttl', 'max_ttl']) {
      for (const value of MALFORMED_TTLS) {
        await assert.rejects(h.request('update', 'users/mary', { data: { password: 'new', [field]: value } }), BadRequestError, `${field}=${String(value)}`);
      }
    }
    const others: Array<Record<string, unknown>> = [
      { token_num_uses: -1 },
      { token_type: 'x' },
      { bound_cidrs: 'nope' },
      { token_ttl: 10, token_max_ttl: 5 },
    ];
    for (const data of others) {
      await assert.rejects(h.request('update', 'users/mary', { data: { password: 'new', ...data } }), BadRequestError, JSON.stringify(data));
    }
    await assert.rejects(h.request('update', 'users/bob', { data: { password: 'pw', token_ttl: '-1s' } }), BadRequestError);
    assert.deepEqual(await snapshot(h.storage), before);
  });

  test('update without a password keeps it', async () => {
    const h = await mount();
    await h.request('update', 'users/mary', { data: { password: 'pw', token_policies: 'a' } });
    await h.request('update', 'users/mary', { data: { token_ttl: '1h' } });
    const data = (await h.request('read', 'users/mary'))?.data;
    assert.deepEqual(data?.token_policies, ['a']);
    assert.equal(data?.token_ttl, 3600);
    assert.ok((await login(h, 'mary', 'pw'))?.auth);
  });

  test('password path changes the password', async () => {
    const h = await mount();
    await h.request('update', 'users/mary', { data: { password: 'old' } });
    assert.equal(await h.request('update', 'users/mary/password', { data: { password: 'new' } }), null);
    await assert.rejects(login(h, 'mary', 'old'), LOGIN_FAILED);
    assert.ok((await login(h, 'mary', 'new'))?.auth);
    await assert.rejects(h.request('update', 'users/mary/password', { data: {} }), /missing required field "password"/);
    await assert.rejects(h.request('update', 'users/nobody/password', { data: { password: 'x' } }), /user "nobody" does not exist/);
  });

  test('policies path changes only the policies', async () => {
    const h = await mount();
    await h.request('update', 'users/mary', { data: { password: 'pw', token_policies: 'a', token_ttl: 60 } });
    await h.request('update', 'users/mary/policies', { data: { token_policies: 'b, C' } });
    let data = (await h.request('read', 'users/mary'))?.data;
    assert.deepEqual(data?.token_policies, ['b', 'c']);
    assert.equal(data?.token_ttl, 60);
    await h.request('update', 'users/mary/policies', { data: { policies: 'd' } });
    data = (await h.request('read', 'users/mary'))?.data;
    assert.deepEqual(data?.token_policies, ['d']);
    await assert.rejects(h.request('update', 'users/mary/policies', { data: {} }), /missing "token_policies"/);
    await assert.rejects(h.request('update', 'users/nobody/policies', { data: { token_policies: 'a' } }), /does not exist/);
  });

  test('deprecated ttl fields are read', async () => {
    const h = await mount();
    await h.request('update', 'users/mary', { data: { password: 'pw', ttl: '5m', max_ttl: '10m', bound_cidrs: '10.0.0.0/8' } });
    const data = (await h.request('read', 'users/mary'))?.data;
    assert.equal(data?.token_ttl, 300);
    assert.equal(data?.token_max_ttl, 600);
    assert.deepEqual(data?.token_bound_cidrs, ['10.0.0.0/8']);
  });
});

describe('userpass login', () => {
  test('returns auth built from the user', async () => {
    const h = await mount();
    await h.request('update', 'users/mary', {
      data: { password: 'pw', token_policies: 'Admin', token_ttl: '1h', token_max_ttl: '2h', token_num_uses: 3, token_type: 'default-service' },
    });
    const response = await login(h, 'MARY', 'pw');
    assert.deepEqual(response, {
      auth: {
        policies: ['admin'],
        noDefaultPolicy: false,
        metadata: { username: 'mary' },
        displayName: 'mary',
        ttl: 3600,
        maxTtl: 7200,
        explicitMaxTtl: 0,
        period: 0,
        numUses: 3,
        renewable: true,
        boundCidrs: [],
        tokenType: 'service',
        internalData: { username: 'mary' },
      },
    });
  });

  test('wrong password and unknown user give one message', async () => {
    const h = await mount();
    await h.request('update', 'users/mary', { data: { password: 'pw' } });
    await assert.rejects(login(h, 'mary', 'wrong'), LOGIN_FAILED);
    await assert.rejects(login(h, 'nobody', 'pw'), LOGIN_FAILED);
    await assert.rejects(login(h, '-not-valid-', 'pw'), LOGIN_FAILED);
    await assert.rejects(login(h, 'mary', ''), /missing "password"/);
    await assert.rejects(login(h, 'mary', undefined), /missing "password"/);
  });

  test('unknown user also pays for a hash', async () => {
    const h = await mount();
    await h.request('update', 'users/mary', { data: { password: 'pw' } });
    await login(h, 'nobody', 'warm-up').catch(() => undefined);

    const elapsed = async (name: string) => {
      const start = process.hrtime.bigint();
      await login(h, name, 'wrong').catch(() => undefined);
      return Number(process.hrtime.bigint() - start);
    };
    const known = [await elapsed('mary'), await elapsed('mary')];
    const unknown = [await elapsed('nobody'), await elapsed('nobody')];
    // Without the dummy hash an unknown user would be rejected about a thousand times faster. The
    // wide margin keeps the check stable on a busy machine.
    assert.ok(Math.min(...unknown) > Math.min(...known) / 4, `unknown ${unknown} vs known ${known} ns`);
  });

  test('token_bound_cidrs refuse another address', async () => {
    const h = await mount();
    await h.request('update', 'users/mary', { data: { password: 'pw', token_bound_cidrs: '10.0.0.0/8' } });
    await assert.rejects(login(h, 'mary', 'pw', '127.0.0.1'), LOGIN_FAILED);
    const response = await login(h, 'mary', 'pw', '::ffff:10.0.0.5');
    assert.deepEqual(response?.auth?.boundCidrs, ['10.0.0.0/8']);
  });

  test('login paths need no token', async () => {
    const h = await mount();
    assert.deepEqual(h.backend.unauthenticatedPaths, ['login', 'login/*']);
  });
});

describe('userpass renewAuth', () => {
  test('returns current policies and TTLs', async () => {
    const h = await mount();
    await h.request('update', 'users/mary', { data: { password: 'pw', token_policies: 'a' } });
    const auth = (await login(h, 'mary', 'pw'))!.auth!;
    await h.request('update', 'users/mary/policies', { data: { token_policies: 'b' } });
    await h.request('update', 'users/mary', { data: { token_ttl: 90, token_period: 30 } });
    const renewed = await h.backend.renewAuth({ internalData: auth.internalData!, metadata: auth.metadata! });
    assert.deepEqual(renewed, { policies: ['b'], ttl: 90, maxTtl: 0, period: 30 });
  });

  test('refuses after the user is deleted', async () => {
    const h = await mount();
    await h.request('update', 'users/mary', { data: { password: 'pw' } });
    const auth = (await login(h, 'mary', 'pw'))!.auth!;
    await h.request('delete', 'users/mary');
    await assert.rejects(
      h.backend.renewAuth({ internalData: auth.internalData!, metadata: auth.metadata! }),
      (err: unknown) => err instanceof BadRequestError && /user "mary" no longer exists/.test(err.message),
    );
  });
});
