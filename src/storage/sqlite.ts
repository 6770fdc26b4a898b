import { chmodSync, closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { ListOptions, Physical, TxOp } from './physical.js';
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

/**
 * Physical storage in one SQLite file through better-sqlite3, one row per key.
 *
 * The database runs in WAL mode with `synchronous = FULL`, so a write returns only once it is on
 * disk, and a transaction is one SQLite transaction, so a crash leaves it wholly applied or not at
 * all. better-sqlite3 is synchronous: each call blocks the event loop for the duration of its query.
 */
export class SqlitePhysical implements Physical {
  /** Rows that `list` has read from SQLite since the store was opened, for tests of list cost. */
  listRowsRead = 0;

  private readonly getStatement: Statement;
  private readonly putStatement: Statement;
  private readonly deleteStatement: Statement;
  private readonly rangeStatements: Record<RangeName, Statement>;
  private readonly applyAll: (ops: TxOp[]) => void;

  private constructor(private readonly db: Database.Database) {
    this.getStatement = db.prepare('SELECT value FROM entries WHERE key = ?').pluck();
    this.putStatement = db.prepare(
      'INSERT INTO entries (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    this.deleteStatement = db.prepare('DELETE FROM entries WHERE key = ?');
    this.rangeStatements = {
      fromInclusive: db.prepare(RANGE_QUERIES.fromInclusive).pluck(),
      fromExclusive: db.prepare(RANGE_QUERIES.fromExclusive).pluck(),
      fromInclusiveUnbounded: db.prepare(RANGE_QUERIES.fromInclusiveUnbounded).pluck(),
      fromExclusiveUnbounded: db.prepare(RANGE_QUERIES.fromExclusiveUnbounded).pluck(),
    };

    // Each operation is checked just before it runs, so a bad operation part-way through throws
    // inside the SQLite transaction and rolls back the ones before it.
    this.applyAll = db.transaction((ops: TxOp[]) => {
      for (const op of ops) {
        checkTxOp(op);
        if (op.op === 'put') this.putStatement.run(op.key, op.value);
        else this.deleteStatement.run(op.key);
      }
    });
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
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 5000');
      db.exec(SCHEMA);
      return new SqlitePhysical(db);
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
    this.putStatement.run(key, value);
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    this.deleteStatement.run(key);
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

  async transaction(ops: TxOp[]): Promise<void> {
    if (!Array.isArray(ops)) throw new TypeError('invalid transaction: expected an array of operations');
    this.applyAll(ops);
  }

  async close(): Promise<void> {
    this.db.close();
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
