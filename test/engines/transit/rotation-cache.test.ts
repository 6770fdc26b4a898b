import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InmemPhysical } from '../../../src/storage/inmem.js';
import { StorageView } from '../../../src/storage/storage.js';
import { b64, mountTransit } from './harness.js';

const HOUR_MS = 3600_000;

/** Returns a clock the test moves forward, so rotation is tested without waiting an hour. */
function movableClock() {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms: number) => (offset += ms) };
}

async function until(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('auto-rotation on use', async () => {
  const clock = movableClock();
  const t = await mountTransit({ now: clock.now, rotationCheckIntervalMs: HOUR_MS });
  await t.write('keys/k', { auto_rotate_period: '1h' });
  assert.equal((await t.read('keys/k')).auto_rotate_period, 3600);
  assert.match((await t.write('encrypt/k', { plaintext: b64('x') })).ciphertext, /^vault:v1:/);

  clock.advance(HOUR_MS + 1000);
  assert.match((await t.write('encrypt/k', { plaintext: b64('x') })).ciphertext, /^vault:v2:/);
  assert.equal((await t.read('keys/k')).latest_version, 2);
  assert.match((await t.write('encrypt/k', { plaintext: b64('x') })).ciphertext, /^vault:v2:/);
  await t.close();
});

test('auto-rotation timer and restart', async () => {
  const storage = new StorageView(new InmemPhysical(), 'transit/');
  const clock = movableClock();
  const first = await mountTransit({ now: clock.now, rotationCheckIntervalMs: HOUR_MS }, storage);
  await first.write('keys/timed', { auto_rotate_period: '2h' });
  await first.write('keys/manual');
  await first.close();

  // The server is down while the period passes; after start the first check rotates the key.
  clock.advance(2 * HOUR_MS + 1000);
  const restarted = await mountTransit({ now: clock.now, rotationCheckIntervalMs: 20 }, storage);
  await until(async () => (await restarted.read('keys/timed')).latest_version === 2);
  assert.equal((await restarted.read('keys/manual')).latest_version, 1);

  // Turning rotation off stops it.
  await restarted.write('keys/timed/config', { auto_rotate_period: 0 });
  clock.advance(10 * HOUR_MS);
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.equal((await restarted.read('keys/timed')).latest_version, 2);
  await restarted.close();
});

test('concurrent rotations are serialized', async () => {
  const t = await mountTransit();
  await t.write('keys/k');
  await Promise.all(Array.from({ length: 20 }, () => t.write('keys/k/rotate')));
  const key = await t.read('keys/k');
  assert.equal(key.latest_version, 21);
  assert.equal(Object.keys(key.keys).length, 21);

  await Promise.all([
    t.write('keys/k/config', { min_decryption_version: 5 }),
    t.write('keys/k/rotate'),
    t.write('keys/k/config', { deletion_allowed: true }),
  ]);
  const after = await t.read('keys/k');
  assert.equal(after.latest_version, 22);
  assert.equal(after.min_decryption_version, 5);
  assert.equal(after.deletion_allowed, true);
  await t.close();
});

test('cache-config sets the cache size', async () => {
  const t = await mountTransit();
  assert.deepEqual(await t.read('cache-config'), { size: 1000 });
  await t.write('cache-config', { size: 10 });
  assert.deepEqual(await t.read('cache-config'), { size: 10 });
  await assert.rejects(t.write('cache-config', { size: 5 }), /at least 10/);
  await assert.rejects(t.write('cache-config', { size: -1 }), /invalid cache size/);

  for (let i = 0; i < 15; i++) await t.write(`keys/k${i}`);
  for (let i = 0; i < 15; i++) {
    const { ciphertext } = await t.write(`encrypt/k${i}`, { plaintext: b64(`v${i}`) });
    assert.equal((await t.write(`decrypt/k${i}`, { ciphertext })).plaintext, b64(`v${i}`));
  }
  await t.write('cache-config', { size: 0 });
  assert.deepEqual(await t.read('cache-config'), { size: 0 });

  // A restarted backend reads the stored size.
  const restarted = await mountTransit({}, t.storage);
  assert.deepEqual(await restarted.read('cache-config'), { size: 0 });
  await restarted.close();
  await t.close();
});

test('cached key reflects changes', async () => {
  const t = await mountTransit();
  await t.write('keys/k');
  const { ciphertext } = await t.write('encrypt/k', { plaintext: b64('x') });
  await t.write('keys/k/rotate');
  await t.write('keys/k/config', { min_decryption_version: 2 });
  await assert.rejects(t.write('decrypt/k', { ciphertext }), /below min_decryption_version/);
  await t.write('keys/k/config', { min_decryption_version: 1, deletion_allowed: true });
  assert.equal((await t.write('decrypt/k', { ciphertext })).plaintext, b64('x'));
  await t.request('delete', 'keys/k');
  await assert.rejects(t.write('decrypt/k', { ciphertext }), /not found/);
  await t.close();
});

test('random and hash', async () => {
  const t = await mountTransit();
  assert.equal(Buffer.from((await t.write('random')).random_bytes, 'base64').length, 32);
  assert.match((await t.write('random/16', { format: 'hex' })).random_bytes, /^[0-9a-f]{32}$/);
  assert.equal(Buffer.from((await t.write('random/all/8')).random_bytes, 'base64').length, 8);
  assert.equal(Buffer.from((await t.write('random/platform', { bytes: 12 })).random_bytes, 'base64').length, 12);
  await assert.rejects(t.write('random/0'), /invalid bytes 0/);
  await assert.rejects(t.write('random', { format: 'binary' }), /use hex or base64/);

  const input = b64('abc');
  assert.equal((await t.write('hash', { input })).sum, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal((await t.write('hash/sha3-256', { input })).sum, '3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532');
  assert.equal((await t.write('hash', { input, algorithm: 'sha2-512', format: 'base64' })).sum.length, 88);
  await assert.rejects(t.write('hash/md5', { input }), /unsupported hash algorithm/);
  await assert.rejects(t.write('hash', {}), /missing required field "input"/);
  await t.close();
});
