import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  effectiveDeleteAfter,
  effectiveMaxVersions,
  formatGoDuration,
  formatTimestamp,
  isVersionDeleted,
  newKeyMetadata,
  DEFAULT_CONFIG,
} from '../../../src/engines/kv/v2/model.js';
import { extractSubkeys } from '../../../src/engines/kv/v2/subkeys.js';

test('timestamps trim trailing zeros as Go does', () => {
  const base = Date.UTC(2018, 2, 22, 2, 24, 6);
  assert.equal(formatTimestamp(base + 945), '2018-03-22T02:24:06.945Z');
  assert.equal(formatTimestamp(base + 900), '2018-03-22T02:24:06.9Z');
  assert.equal(formatTimestamp(base + 40), '2018-03-22T02:24:06.04Z');
  assert.equal(formatTimestamp(base), '2018-03-22T02:24:06Z');
  assert.equal(Date.parse(formatTimestamp(base + 900)), base + 900);
});

test('durations format as Go prints them', () => {
  const cases: Array<[number, string]> = [
    [0, '0s'],
    [1, '1s'],
    [59, '59s'],
    [60, '1m0s'],
    [90, '1m30s'],
    [3600, '1h0m0s'],
    [12319, '3h25m19s'],
    [2764800, '768h0m0s'],
  ];
  for (const [seconds, text] of cases) assert.equal(formatGoDuration(seconds), text, String(seconds));
});

test('version deletion state', () => {
  const now = Date.now();
  const live = { created_time: '', deletion_time: '', destroyed: false };
  assert.equal(isVersionDeleted(live, now), false);
  assert.equal(isVersionDeleted({ ...live, destroyed: true }, now), true);
  assert.equal(isVersionDeleted({ ...live, deletion_time: formatTimestamp(now - 1) }, now), true);
  assert.equal(isVersionDeleted({ ...live, deletion_time: formatTimestamp(now + 60_000) }, now), false);
});

test('max versions precedence', () => {
  const meta = newKeyMetadata('');
  assert.equal(effectiveMaxVersions(meta, DEFAULT_CONFIG), 10);
  assert.equal(effectiveMaxVersions(meta, { ...DEFAULT_CONFIG, max_versions: 3 }), 3);
  assert.equal(effectiveMaxVersions({ ...meta, max_versions: 5 }, { ...DEFAULT_CONFIG, max_versions: 3 }), 5);
});

test('delete_version_after precedence', () => {
  const meta = newKeyMetadata('');
  const mount = (seconds: number) => ({ ...DEFAULT_CONFIG, delete_version_after: seconds });
  assert.equal(effectiveDeleteAfter(meta, DEFAULT_CONFIG), 0);
  assert.equal(effectiveDeleteAfter(meta, mount(60)), 60);
  assert.equal(effectiveDeleteAfter({ ...meta, delete_version_after: 30 }, DEFAULT_CONFIG), 30);
  assert.equal(effectiveDeleteAfter({ ...meta, delete_version_after: 30 }, mount(60)), 30);
  assert.equal(effectiveDeleteAfter({ ...meta, delete_version_after: 90 }, mount(60)), 60);
});

test('subkeys of empty and flat data', () => {
  assert.deepEqual(extractSubkeys({}, 0), {});
  assert.deepEqual(extractSubkeys({ a: 1, b: [1, { c: 2 }], d: null }, 0), { a: null, b: null, d: null });
  assert.deepEqual(extractSubkeys({ a: { b: { c: { d: 1 } } } }, 3), { a: { b: { c: null } } });
});
