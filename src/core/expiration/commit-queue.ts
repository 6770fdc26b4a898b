import type { TxOp } from '../../storage/physical.js';
import type { Storage } from '../../storage/storage.js';

interface QueuedCommit {
  ops: TxOp[];
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Applies the storage transactions that concurrent callers queue as one transaction (a group
 * commit), so that many leases registered or revoked at once share one sync to disk.
 *
 * On file-backed SQLite every commit waits for the disk and blocks the event loop meanwhile, so
 * committing each lease alone makes a mass revocation stall unrelated requests. Here the
 * transactions queued during one turn of the event loop are applied together on the next turn,
 * and each caller's promise settles only once its own operations are durable. When a combined
 * transaction fails, each caller's operations are retried alone, so a bad transaction fails only
 * its own caller. One combined transaction runs at a time, in queue order.
 */
export class CommitQueue {
  private queue: QueuedCommit[] = [];
  private scheduled = false;
  private flushing = false;

  /**
   * @param storage where the transactions are applied
   * @param maxOps operations per combined transaction; a single larger transaction still runs whole
   */
  constructor(
    private readonly storage: Storage,
    private readonly maxOps: number,
  ) {}

  /** Queues `ops` as one transaction; resolves once they are applied, or rejects with the storage error. */
  commit(ops: TxOp[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ops, resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.scheduled || this.flushing || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    this.flushing = true;
    try {
      const batch = this.takeBatch();
      if (batch.length === 1) await applyAlone(this.storage, batch[0]);
      else await this.applyTogether(batch);
    } finally {
      this.flushing = false;
      this.scheduleFlush();
    }
  }

  /** Takes queued transactions, oldest first, up to `maxOps` operations but at least one transaction. */
  private takeBatch(): QueuedCommit[] {
    let taken = 0;
    let ops = 0;
    while (taken < this.queue.length) {
      const size = this.queue[taken].ops.length;
      if (taken > 0 && ops + size > this.maxOps) break;
      ops += size;
      taken++;
    }
    return this.queue.splice(0, taken);
  }

  private async applyTogether(batch: QueuedCommit[]): Promise<void> {
    try {
      await this.storage.transaction(batch.flatMap((commit) => commit.ops));
    } catch {
      // Nothing of the combined transaction was applied; find the caller whose operations fail.
      for (const commit of batch) await applyAlone(this.storage, commit);
      return;
    }
    for (const commit of batch) commit.resolve();
  }
}

async function applyAlone(storage: Storage, commit: QueuedCommit): Promise<void> {
  try {
    await storage.transaction(commit.ops);
    commit.resolve();
  } catch (err) {
    commit.reject(err);
  }
}
