/**
 * The physical storage interface. It stores opaque bytes under string keys and knows nothing of
 * encryption: the barrier encrypts every value before it reaches a physical backend.
 *
 * Keys are `/`-separated. `list(prefix)` returns the immediate children of the prefix in byte
 * order, with a trailing `/` on children that have keys below them (Vault's listing semantics),
 * and pages through them with `after` (exclusive) and `limit`.
 */
export interface Physical {
  get(key: string): Promise<Buffer | null>;
  put(key: string, value: Buffer): Promise<void>;
  delete(key: string): Promise<void>;
  list(prefix: string, options?: ListOptions): Promise<string[]>;
  /** Applies every operation or none; a crash part-way leaves no operation applied. */
  transaction(ops: TxOp[]): Promise<void>;
  close(): Promise<void>;
}

export interface ListOptions {
  /** Returns only children that sort after this name (exclusive). */
  after?: string;
  /** Returns at most this many children. */
  limit?: number;
}

export type TxOp = { op: 'put'; key: string; value: Buffer } | { op: 'delete'; key: string };
