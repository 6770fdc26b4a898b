import type { ListOptions, Physical, TxOp } from './physical.js';
import {
  checkKey,
  checkPrefix,
  checkTxOp,
  childOf,
  compareKeys,
  folderUpperBound,
  readListOptions,
} from './keys.js';

/**
 * Physical storage in process memory, for dev mode and tests. Nothing survives a restart.
 *
 * Keys are kept in a sorted array (UTF-8 byte order, as SQLite sorts them) beside a map of values,
 * so a listing starts with a binary search and jumps over each folder with another one. A put of a
 * new key or a delete shifts the array, which is O(n) and fine at the sizes this backend is for.
 */
export class InmemPhysical implements Physical {
  private readonly values = new Map<string, Buffer>();
  private readonly sortedKeys: string[] = [];
  private closed = false;

  async get(key: string): Promise<Buffer | null> {
    this.checkOpen();
    checkKey(key);
    const value = this.values.get(key);
    return value === undefined ? null : Buffer.from(value);
  }

  async put(key: string, value: Buffer): Promise<void> {
    this.checkOpen();
    checkTxOp({ op: 'put', key, value });
    this.apply({ op: 'put', key, value });
  }

  async delete(key: string): Promise<void> {
    this.checkOpen();
    checkKey(key);
    this.apply({ op: 'delete', key });
  }

  async list(prefix: string, options?: ListOptions): Promise<string[]> {
    this.checkOpen();
    checkPrefix(prefix);
    const { after, limit } = readListOptions(options);

    const children: string[] = [];
    const keys = this.sortedKeys;
    let i: number;
    if (after === '') i = this.lowerBound(prefix);
    else if (after.endsWith('/')) i = this.lowerBound(folderUpperBound(prefix, after));
    else i = this.upperBound(prefix + after);
    while (i < keys.length && children.length < limit && keys[i].startsWith(prefix)) {
      const child = childOf(prefix, keys[i]);
      const isFolder = child.endsWith('/');

      // A key past `prefix + after` can still lie in a folder that sorts at or before `after`
      // (after = "a/m", key = "a/n"), and a key equal to the prefix has no child name.
      if (child !== '' && (after === '' || compareKeys(child, after) > 0)) children.push(child);

      i = isFolder ? this.lowerBound(folderUpperBound(prefix, child)) : i + 1;
    }
    return children;
  }

  async transaction(ops: TxOp[]): Promise<void> {
    this.checkOpen();
    if (!Array.isArray(ops)) throw new TypeError('invalid transaction: expected an array of operations');

    // Check every operation before applying any, so a bad one leaves the store untouched. Applying
    // cannot fail once the checks pass.
    for (const op of ops) checkTxOp(op);
    for (const op of ops) this.apply(op);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private apply(op: TxOp): void {
    const exists = this.values.has(op.key);
    if (op.op === 'put') {
      if (!exists) this.sortedKeys.splice(this.lowerBound(op.key), 0, op.key);
      this.values.set(op.key, Buffer.from(op.value));
    } else if (exists) {
      this.sortedKeys.splice(this.lowerBound(op.key), 1);
      this.values.delete(op.key);
    }
  }

  /** Returns the index of the first key at or after `target`. */
  private lowerBound(target: string): number {
    let low = 0;
    let high = this.sortedKeys.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compareKeys(this.sortedKeys[mid], target) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** Returns the index of the first key strictly after `target`. */
  private upperBound(target: string): number {
    const i = this.lowerBound(target);
    return i < this.sortedKeys.length && this.sortedKeys[i] === target ? i + 1 : i;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('in-memory storage is closed');
  }
}
