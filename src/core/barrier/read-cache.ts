/** Size limits of a `PlaintextCache`. */
export interface PlaintextCacheLimits {
  /** Entries kept at most; 0 disables the cache. */
  maxEntries: number;
  /** Bytes of values kept at most, summed over every entry. */
  maxBytes: number;
  /** Values longer than this many bytes are not cached. */
  maxValueBytes: number;
}

/** Defaults sized for secrets and metadata entries, which are mostly under a few KiB. */
export const DEFAULT_CACHE_LIMITS: PlaintextCacheLimits = {
  maxEntries: 10_000,
  maxBytes: 64 * 1024 * 1024,
  maxValueBytes: 64 * 1024,
};

/**
 * A least-recently-used cache of decrypted barrier entries by logical path, bounded by entry
 * count and total bytes. It stores its own copy of each value and hands out copies, so no caller
 * can change a cached value. Evicted, replaced and cleared values are zeroed.
 */
export class PlaintextCache {
  // A Map iterates in insertion order, so re-inserting on each hit keeps the least recently used
  // entry first.
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly limits: PlaintextCacheLimits = DEFAULT_CACHE_LIMITS) {
    for (const name of ['maxEntries', 'maxBytes', 'maxValueBytes'] as const) {
      const limit = limits[name];
      if (!Number.isSafeInteger(limit) || limit < 0) {
        throw new RangeError(`invalid cache limit ${name} ${limit}: expected a whole number of at least 0`);
      }
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** Returns a copy of the cached value, or undefined when the path is not cached. */
  get(path: string): Buffer | undefined {
    const value = this.entries.get(path);
    if (value === undefined) return undefined;
    this.entries.delete(path);
    this.entries.set(path, value);
    return Buffer.from(value);
  }

  /** Stores a copy of `value`, evicting the least recently used entries to stay in bounds. */
  set(path: string, value: Buffer): void {
    this.delete(path);
    if (this.limits.maxEntries === 0 || value.length > this.limits.maxValueBytes) return;
    if (value.length > this.limits.maxBytes) return;

    this.entries.set(path, Buffer.from(value));
    this.bytes += value.length;
    while (this.entries.size > this.limits.maxEntries || this.bytes > this.limits.maxBytes) {
      const oldest = this.entries.keys().next().value as string;
      this.delete(oldest);
    }
  }

  delete(path: string): void {
    const value = this.entries.get(path);
    if (value === undefined) return;
    this.entries.delete(path);
    this.bytes -= value.length;
    value.fill(0);
  }

  /** Zeroes and drops every entry. */
  clear(): void {
    for (const value of this.entries.values()) value.fill(0);
    this.entries.clear();
    this.bytes = 0;
  }
}
