import type Database from 'better-sqlite3';
import type { TxOp } from './physical.js';

/**
 * Applies a group commit: one SQLite transaction holding several callers' operations, each
 * caller's under its own savepoint. Returns one outcome per caller, null when its operations were
 * applied, else the error that rolled them back. Throws when the whole transaction failed (the
 * commit, or an error such as SQLITE_FULL or SQLITE_IOERR after which SQLite rolled everything
 * back), and then no operation of the batch is applied.
 */
export type BatchApplier = (batch: TxOp[][]) => (Error | null)[];

/**
 * Builds the `BatchApplier` of a connection. Operations must already be checked. The writer
 * thread runs this function's source text, so it may use only its parameter and globals.
 */
export function createBatchApplier(db: Database.Database): BatchApplier {
  const putStatement = db.prepare(
    'INSERT INTO entries (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  const deleteStatement = db.prepare('DELETE FROM entries WHERE key = ?');

  // Called inside `applyBatch`, a better-sqlite3 transaction function runs under a SAVEPOINT, so
  // a statement that fails rolls back only this caller's operations.
  const applyOne = db.transaction((ops: TxOp[]) => {
    for (const op of ops) {
      if (op.op === 'put') putStatement.run(op.key, op.value);
      else deleteStatement.run(op.key);
    }
  });

  const applyIsolated = (ops: TxOp[]): Error | null => {
    try {
      applyOne(ops);
      return null;
    } catch (err) {
      // Without an open transaction the rest of the batch would run in autocommit mode.
      if (!db.inTransaction) throw err;
      return err instanceof Error ? err : new Error(String(err));
    }
  };

  return db.transaction((batch: TxOp[][]) => batch.map(applyIsolated));
}

/** Sets the pragmas every Coffer SQLite connection uses. Also runs as source text in the writer thread. */
export function configureConnection(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
}

/** Messages from the main thread to the writer thread. */
export type WriterRequest = { type: 'commit'; batch: TxOp[][] } | { type: 'close' };

/** Messages from the writer thread: the outcome of the last commit, or of closing. */
export type WriterReply =
  | { type: 'committed'; outcomes: (string | null)[] }
  | { type: 'failed'; message: string }
  | { type: 'closed' };
