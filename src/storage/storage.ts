import type { ListOptions, TxOp } from './physical.js';

/**
 * Logical storage as backends and core services see it: the same shape as `Physical`, but every
 * value is encrypted by the barrier underneath, and a view confines a backend to its own prefix.
 */
export interface Storage {
  get(key: string): Promise<Buffer | null>;
  put(key: string, value: Buffer): Promise<void>;
  delete(key: string): Promise<void>;
  list(prefix: string, options?: ListOptions): Promise<string[]>;
  transaction(ops: TxOp[]): Promise<void>;
}

/** A view of `parent` under `prefix`: keys are relative to the prefix and cannot leave it. */
export class StorageView implements Storage {
  constructor(
    private readonly parent: Storage,
    readonly prefix: string,
  ) {}

  get(key: string): Promise<Buffer | null> {
    return this.parent.get(this.prefix + key);
  }

  put(key: string, value: Buffer): Promise<void> {
    return this.parent.put(this.prefix + key, value);
  }

  delete(key: string): Promise<void> {
    return this.parent.delete(this.prefix + key);
  }

  list(prefix: string, options?: ListOptions): Promise<string[]> {
    return this.parent.list(this.prefix + prefix, options);
  }

  transaction(ops: TxOp[]): Promise<void> {
    return this.parent.transaction(ops.map((op) => ({ ...op, key: this.prefix + op.key })));
  }

  /** Returns a view below this one. */
  sub(prefix: string): StorageView {
    return new StorageView(this.parent, this.prefix + prefix);
  }
}

/** Reads a JSON entry, or null when absent. */
export async function getJson<T>(storage: Storage, key: string): Promise<T | null> {
  const raw = await storage.get(key);
  return raw === null ? null : (JSON.parse(raw.toString('utf8')) as T);
}

/** Writes a value as a JSON entry. */
export function putJson(storage: Storage, key: string, value: unknown): Promise<void> {
  return storage.put(key, Buffer.from(JSON.stringify(value), 'utf8'));
}
