import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyMergePatch } from '../../../src/engines/kv/v2/merge-patch.js';

// Object cases from the examples in RFC 7396, appendix A. Cases whose target or patch is not an
// object do not apply, because KV data is always an object.
const vectors: Array<[Record<string, unknown>, Record<string, unknown>, Record<string, unknown>]> = [
  [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
  [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  [{ a: 'b' }, { a: null }, {}],
  [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
  [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

test('merge patch RFC 7396 vectors', () => {
  for (const [target, patch, expected] of vectors) {
    assert.deepEqual(applyMergePatch(target, patch), expected, JSON.stringify({ target, patch }));
  }
});

test('merge patch leaves inputs unchanged', () => {
  const target = { a: { b: 1 }, c: 2 };
  const patch = { a: { b: null, d: 3 }, c: null };
  const result = applyMergePatch(target, patch);
  assert.deepEqual(result, { a: { d: 3 } });
  assert.deepEqual(target, { a: { b: 1 }, c: 2 });
  assert.deepEqual(patch, { a: { b: null, d: 3 }, c: null });
});

test('merge patch keeps a __proto__ member as data', () => {
  const patch = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as Record<string, unknown>;
  const result = applyMergePatch({}, patch);
  assert.equal(Object.getPrototypeOf(result), Object.prototype);
  assert.deepEqual(Object.keys(result).sort(), ['__proto__', 'x']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(JSON.stringify(result), '{"__proto__":{"polluted":true},"x":1}');
});
