import { BadRequestError } from '../errors.js';
import type { ListOptions, TxOp } from './physical.js';

// Matches a UTF-16 surrogate that is not part of a pair. Such a string has no UTF-8 form, so two
// different keys would collapse into one once stored as UTF-8 text.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Throws unless `key` is a non-empty string with a UTF-8 form. */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key === '') {
    throw new BadRequestError('invalid storage key: expected a non-empty string');
  }
  if (LONE_SURROGATE.test(key)) {
    throw new BadRequestError('invalid storage key: contains an unpaired UTF-16 surrogate');
  }
}

/** Throws unless `prefix` is a string (possibly empty) with a UTF-8 form. */
export function checkPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string' || LONE_SURROGATE.test(prefix)) {
    throw new BadRequestError('invalid storage prefix: expected a string of valid Unicode');
  }
}

/** Throws unless `op` is a well-formed transaction operation. */
export function checkTxOp(op: TxOp): void {
  if (op === null || typeof op !== 'object') {
    throw new TypeError('invalid transaction operation: expected an object');
  }
  checkKey(op.key);
  if (op.op === 'put') {
    if (!Buffer.isBuffer(op.value)) {
      throw new TypeError(`invalid transaction operation on "${op.key}": value must be a Buffer`);
    }
  } else if ((op as { op: unknown }).op !== 'delete') {
    throw new TypeError(`invalid transaction operation on "${op.key}": op must be "put" or "delete"`);
  }
}

/** Paging options after validation; `limit` is `Infinity` when absent or not positive. */
export interface ListPage {
  after: string;
  limit: number;
}

/**
 * Validates list options. A missing or non-positive `limit` means no limit, as in Vault's paged
 * listing.
 */
export function readListOptions(options: ListOptions | undefined): ListPage {
  const after = options?.after ?? '';
  const limit = options?.limit;
  if (typeof after !== 'string' || LONE_SURROGATE.test(after)) {
    throw new BadRequestError('invalid list option "after": expected a string of valid Unicode');
  }
  if (limit !== undefined && !Number.isInteger(limit)) {
    throw new BadRequestError(`invalid list option "limit": ${String(limit)}: expected an integer`);
  }
  return { after, limit: limit === undefined || limit <= 0 ? Infinity : limit };
}

/**
 * Compares two strings in Unicode code point order, which is the byte order of their UTF-8 forms
 * and so the order SQLite's BINARY collation gives. Plain `<` compares UTF-16 code units, which
 * puts characters above U+FFFF before U+E000..U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codeUnitRank(x) - codeUnitRank(y);
  }
  return a.length - b.length;
}

// Moves surrogates (U+D800..U+DFFF) above U+E000..U+FFFF, so that at the first differing code unit
// a character above U+FFFF ranks after every character of the Basic Multilingual Plane.
function codeUnitRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/**
 * Returns the immediate child of `prefix` that `key` lies in: the rest of the key up to and
 * including its first `/`, or the whole rest when it has none. `key` must start with `prefix`.
 */
export function childOf(prefix: string, key: string): string {
  const slash = key.indexOf('/', prefix.length);
  return slash === -1 ? key.slice(prefix.length) : key.slice(prefix.length, slash + 1);
}

/**
 * Returns the smallest string that sorts after every string starting with `prefix`, or null when
 * no such string exists (an empty prefix, or one made only of U+10FFFF).
 */
export function prefixUpperBound(prefix: string): string | null {
  const points = Array.from(prefix, (c) => c.codePointAt(0) as number);
  while (points.length > 0) {
    const last = (points.pop() as number) + 1;
    if (last <= 0x10ffff) {
      points.push(last === 0xd800 ? 0xe000 : last);
      return String.fromCodePoint(...points);
    }
  }
  return null;
}

/**
 * Returns the smallest key that sorts after every key inside the folder `folder` (a child ending
 * in `/`) of `prefix`. Every such key starts with `prefix + folder`, and `0` follows `/` in ASCII.
 */
export function folderUpperBound(prefix: string, folder: string): string {
  return prefix + folder.slice(0, -1) + '0';
}
