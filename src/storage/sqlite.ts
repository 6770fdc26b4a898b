import { chmodSync, closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { ListOptions, Physical, TxOp } from './physical.js';
import { configureConnection } from './sqlite-batch.js';
import { InlineCommitter, ThreadCommitter, type Committer } from './sqlite-committer.js';
import {
  checkKey,
  checkPrefix,
  checkTxOp,
  childOf,
  compareKeys,
  folderUpperBound,
  prefixUpperBound,
  readListOptions,
} from './keys.js';

const SCHEMA = 'CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID';

// Range scans over the primary key index, one per combination of an inclusive or exclusive lower
// bound and a present or absent upper bound. Keys compare with SQLite's BINARY collation, which is
// the byte order of their UTF-8 text.
const RANGE_QUERIES = {
  fromInclusive: 'SELECT key FROM entries WHERE key >= ? AND key < ? ORDER BY key',
  fromExclusive: 'SELECT key FROM entries WHERE key > ? AND key < ? ORDER BY key',
  fromInclusiveUnbounded: 'SELECT key FROM entries WHERE key >= ? ORDER BY key',
  fromExclusiveUnbounded: 'SELECT key FROM entries WHERE key > ? ORDER BY key',
} as const;

type RangeName = keyof typeof RANGE_QUERIES;
type Statement = Database.Statement<unknown[], unknown>;

/** A caller's write waiting for the next group commit. */
interface PendingWrite {
  ops: TxOp[];
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Physical storage in one SQLite file through better-sqlite3, one row per key.
 *
 * The database runs in WAL mode with `synchronous = FULL`. Writes use group commit: the writes
 * that arrive in one event-loop iteration, or while the previous commit is running, are applied
 * in one SQLite transaction and share one fsync. Each caller's promise resolves only after that
 * transaction has committed. Inside the batch each caller's operations run under their
 * own savepoint, so a caller whose operations fail is rejected alone, and a failed commit rejects
 * every caller in the batch. Batches commit in the order their writes were called. A crash leaves
 * each caller's operations wholly applied or not at all.
 *
 * For a file, commits run on a worker thread with its own connection, so their fsync does not
 * block the event loop, and reads run on this thread's connection. A WAL read sees every
 * transaction committed before it starts, so it sees every acknowledged write. `:memory:` has one
 * connection and commits on this thread. better-sqlite3 is synchronous: each read blocks the event
 * loop while it runs.
 */
export class SqlitePhysical implements Physical {
  /** Rows that `list` has read from SQLite since the store was opened, for tests of list cost. */
  listRowsRead = 0;

  /** Group commits run since the store was opened, for tests of batching. */
  commitCount = 0;

  private readonly getStatement: Statement;
  private readonly rangeStatements: Record<RangeName, Statement>;
  private pending: PendingWrite[] = [];
  private flushScheduled = false;
  // The commit in flight, which settles after its callers are settled; null when idle.
  private committing: Promise<void> | null = null;
  private closed = false;

  private constructor(
    private readonly db: Database.Database,
    private readonly committer: Committer,
  ) {
    this.getStatement = db.prepare('SELECT value FROM entries WHERE key = ?').pluck();
    this.rangeStatements = {
      fromInclusive: db.prepare(RANGE_QUERIES.fromInclusive).pluck(),
      fromExclusive: db.prepare(RANGE_QUERIES.fromExclusive).pluck(),
      fromInclusiveUnbounded: db.prepare(RANGE_QUERIES.fromInclusiveUnbounded).pluck(),
      fromExclusiveUnbounded: db.prepare(RANGE_QUERIES.fromExclusiveUnbounded).pluck(),
    };
  }

  /**
   * Opens or creates the database at `path`. The file is created with mode 0600 and an existing
   * file is set to 0600; SQLite gives its `-wal` and `-shm` files the database file's mode. The
   * directory must already exist. `:memory:` opens a private in-memory database.
   */
  static open(path: string): SqlitePhysical {
    if (path !== ':memory:') {
      try {
        closeSync(openSync(path, 'a', 0o600));
        chmodSync(path, 0o600);
      } catch (err) {
        throw new Error(`opening SQLite storage at ${path}: ${(err as Error).message}`, { cause: err });
      }
    }

    let db: Database.Database | undefined;
    try {
      db = new Database(path);
      configureConnection(db);
      db.exec(SCHEMA);
      const committer = path === ':memory:' ? new InlineCommitter(db) : new ThreadCommitter(path);
      return new SqlitePhysical(db, committer);
    } catch (err) {
      db?.close();
      throw new Error(`opening SQLite storage at ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  async get(key: string): Promise<Buffer | null> {
    checkKey(key);
    const value = this.getStatement.get(key) as Buffer | undefined;
    return value ?? null;
  }

  async put(key: string, value: Buffer): Promise<void> {
    checkTxOp({ op: 'put', key, value });
    return this.enqueue([{ op: 'put', key, value: Buffer.from(value) }]);
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    return this.enqueue([{ op: 'delete', key }]);
  }

  /**
   * Lists the immediate children of `prefix`. Rows are read in key order, and on reaching a folder
   * the scan restarts past the folder's last possible key, so the rows read are about one per
   * child returned, however many keys each folder contains.
   */
  async list(prefix: string, options?: ListOptions): Promise<string[]> {
    checkPrefix(prefix);
    const { after, limit } = readListOptions(options);
    const upper = prefixUpperBound(prefix);

    const children: string[] = [];
    // Start past every key of the folder `after` names, if it names one: none of them can yield a
    // child that sorts after it.
    let from = after.endsWith('/') ? folderUpperBound(prefix, after) : prefix + after;
    let inclusive = after === '' || after.endsWith('/');
    while (children.length < limit) {
      const folder = this.scanUntilFolder(prefix, after, from, inclusive, upper, children, limit);
      if (folder === null) break;
      from = folderUpperBound(prefix, folder);
      inclusive = true;
    }
    return children;
  }

  /**
   * Applies every operation or none. The operations are checked, and their values copied, before
   * they join a group commit, so an invalid operation rejects this call without touching the batch.
   */
  async transaction(ops: TxOp[]): Promise<void> {
    if (!Array.isArray(ops)) throw new TypeError('invalid transaction: expected an array of operations');
    const copies = ops.map((op): TxOp => {
      checkTxOp(op);
      return op.op === 'put' ? { op: 'put', key: op.key, value: Buffer.from(op.value) } : { op: 'delete', key: op.key };
    });
    if (copies.length === 0) return;
    return this.enqueue(copies);
  }

  /** Commits the writes still waiting, then closes the database. Later writes are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.committing === null) this.flush();
    while (this.committing !== null) await this.committing;
    await this.committer.close();
    this.db.close();
  }

  /** Adds a caller's checked operations to the next group commit. */
  private enqueue(ops: TxOp[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('writing to SQLite storage: the store is closed'));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ ops, resolve, reject });
      if (this.flushScheduled) return;
      this.flushScheduled = true;
      // The check phase runs after the I/O callbacks of this loop iteration, so every write that
      // those callbacks start joins this batch.
      setImmediate(() => this.flush());
    });
  }

  /**
   * Commits every waiting write in one SQLite transaction unless a commit is already running, in
   * which case the writes wait for it to finish.
   */
  private flush(): void {
    this.flushScheduled = false;
    if (this.committing !== null || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.committing = this.commitBatch(batch).finally(() => {
      this.committing = null;
      // Writes that queued behind this commit go next, without waiting for another loop turn.
      this.flush();
    });
  }

  /** Runs one group commit and settles each caller. Never rejects. */
  private async commitBatch(batch: PendingWrite[]): Promise<void> {
    let outcomes: (Error | null)[];
    try {
      outcomes = await this.committer.commit(batch.map((write) => write.ops));
      this.commitCount++;
    } catch (err) {
      const failure = new Error(`committing ${batch.length} writes to SQLite: ${(err as Error).message}`, { cause: err });
      for (const write of batch) write.reject(failure);
      return;
    }
    batch.forEach((write, i) => {
      const outcome = outcomes[i];
      if (outcome === null) write.resolve();
      else write.reject(outcome);
    });
  }

  /** Returns SQLite's query plan for each range query `list` runs, for tests of index use. */
  explainListQueries(): string[] {
    return Object.values(RANGE_QUERIES).map((sql) => {
      const statement = this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
      const params = ['a', 'b'].slice(0, statement.source.split('?').length - 1);
      const rows = statement.all(...params) as { detail: string }[];
      return rows.map((row) => row.detail).join('; ');
    });
  }

  /**
   * Reads keys in order from `from` up to `upper`, adding each new child to `children`, and stops
   * at the first folder, returning it so the caller can jump past its keys. Returns null when the
   * range is exhausted or `limit` is reached.
   */
  private scanUntilFolder(
    prefix: string,
    after: string,
    from: string,
    inclusive: boolean,
    upper: string | null,
    children: string[],
    limit: number,
  ): string | null {
    const statement = this.rangeStatement(inclusive, upper !== null);
    const params = upper === null ? [from] : [from, upper];
    for (const key of statement.iterate(...params) as IterableIterator<string>) {
      this.listRowsRead++;
      const child = childOf(prefix, key);

      // A key past `prefix + after` can still lie in a folder that sorts at or before `after`
      // (after = "a/m", key = "a/n"), and a key equal to the prefix has no child name.
      if (child !== '' && (after === '' || compareKeys(child, after) > 0)) children.push(child);

      // Leaving the loop early resets the statement, ending the scan.
      if (child.endsWith('/')) return child;
      if (children.length >= limit) return null;
    }
    return null;
  }

  private rangeStatement(inclusive: boolean, bounded: boolean): Statement {
    if (inclusive) return bounded ? this.rangeStatements.fromInclusive : this.rangeStatements.fromInclusiveUnbounded;
    return bounded ? this.rangeStatements.fromExclusive : this.rangeStatements.fromExclusiveUnbounded;
  }
}
