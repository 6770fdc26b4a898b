import type { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { TxOp } from './physical.js';
import { createBatchApplier, type BatchApplier, type WriterReply, type WriterRequest } from './sqlite-batch.js';
import { startWriterThread } from './sqlite-writer.js';

/** The runner of `SqlitePhysical`'s group commits, which runs one commit at a time. */
export interface Committer {
  /** Commits a batch and resolves once it is durable, with one outcome per caller (see `BatchApplier`). */
  commit(batch: TxOp[][]): Promise<(Error | null)[]>;
  close(): Promise<void>;
}

/** Commits on the reading connection itself, blocking the event loop. Used for `:memory:`. */
export class InlineCommitter implements Committer {
  private readonly applyBatch: BatchApplier;

  constructor(db: Database.Database) {
    this.applyBatch = createBatchApplier(db);
  }

  async commit(batch: TxOp[][]): Promise<(Error | null)[]> {
    return this.applyBatch(batch);
  }

  async close(): Promise<void> {}
}

/**
 * Commits on a second connection owned by a worker thread (see `runWriterThread`), so the fsync of
 * each commit does not block the event loop. If the thread fails, the commit in flight and every
 * later one are rejected.
 */
export class ThreadCommitter implements Committer {
  private readonly worker: Worker;
  private waiting: { resolve: (reply: WriterReply) => void; reject: (err: Error) => void } | null = null;
  private failure: Error | null = null;
  private closing = false;

  constructor(path: string) {
    this.worker = startWriterThread(path);
    // The thread keeps the process alive only while a commit is in flight.
    this.worker.unref();
    this.worker.on('message', (reply: WriterReply) => this.settle((waiting) => waiting.resolve(reply)));
    this.worker.on('error', (err) => this.fail(new Error(`SQLite writer thread failed: ${err.message}`, { cause: err })));
    this.worker.on('exit', (code) => {
      if (!this.closing) this.fail(new Error(`SQLite writer thread exited with code ${code}`));
    });
  }

  async commit(batch: TxOp[][]): Promise<(Error | null)[]> {
    const reply = await this.send({ type: 'commit', batch });
    if (reply.type === 'failed') throw new Error(reply.message);
    if (reply.type !== 'committed') throw new Error(`unexpected reply from the SQLite writer thread: ${reply.type}`);
    return reply.outcomes.map((message) => (message === null ? null : new Error(message)));
  }

  async close(): Promise<void> {
    if (this.failure === null) await this.send({ type: 'close' });
    this.closing = true;
    await this.worker.terminate();
  }

  private send(request: WriterRequest): Promise<WriterReply> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.waiting !== null) return Promise.reject(new Error('SQLite writer thread is busy'));
    if (request.type === 'close') this.closing = true;
    return new Promise<WriterReply>((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.worker.ref();
      this.worker.postMessage(request);
    });
  }

  private settle(action: (waiting: { resolve: (reply: WriterReply) => void; reject: (err: Error) => void }) => void): void {
    const waiting = this.waiting;
    this.waiting = null;
    this.worker.unref();
    if (waiting !== null) action(waiting);
  }

  private fail(err: Error): void {
    if (this.failure !== null) return;
    this.failure = err;
    this.settle((waiting) => waiting.reject(err));
  }
}
