import { createRequire } from 'node:module';
import { Worker, type MessagePort } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { TxOp } from './physical.js';
import { configureConnection, createBatchApplier, type WriterReply, type WriterRequest } from './sqlite-batch.js';

/** Dependencies of `runWriterThread`, passed in because its source text runs on its own in the thread. */
interface WriterThreadContext {
  Database: typeof Database;
  port: MessagePort;
  path: string;
  configureConnection: typeof configureConnection;
  createBatchApplier: typeof createBatchApplier;
}

/**
 * Runs the SQLite writer thread. It owns the only connection that writes, applies each group
 * commit it receives and replies once the commit is durable (WAL, synchronous = FULL), so a
 * commit's fsync blocks this thread and not the server's event loop.
 *
 * NOTE: this function, `configureConnection` and `createBatchApplier` run in the thread as their
 * source text (see `startWriterThread`), so they may use only their parameters and globals.
 */
export function runWriterThread(context: WriterThreadContext): void {
  const { port } = context;
  const db = new context.Database(context.path);
  context.configureConnection(db);
  const applyBatch = context.createBatchApplier(db);

  port.on('message', (request: WriterRequest) => {
    if (request.type === 'close') {
      db.close();
      port.postMessage({ type: 'closed' } satisfies WriterReply);
      port.close();
      return;
    }

    let reply: WriterReply;
    try {
      // Structured cloning delivers values as Uint8Arrays, and better-sqlite3 binds Buffers.
      const batch = request.batch.map((ops) =>
        ops.map((op): TxOp =>
          op.op === 'put'
            ? { op: 'put', key: op.key, value: Buffer.from(op.value.buffer, op.value.byteOffset, op.value.byteLength) }
            : op,
        ),
      );
      const outcomes = applyBatch(batch);
      reply = { type: 'committed', outcomes: outcomes.map((err) => (err === null ? null : err.message)) };
    } catch (err) {
      reply = { type: 'failed', message: (err as Error).message };
    }
    port.postMessage(reply);
  });
}

/**
 * Starts the writer thread for the database at `path`. The thread runs the source text of
 * `runWriterThread` and its helpers rather than a module file. So it starts the same way from
 * `dist/` and from TypeScript sources under tsx, whose loader hooks do not reach worker threads on
 * Node 20. tsx compiles with esbuild's keepNames, which wraps functions in `__name`, so the script
 * defines `__name` as a no-op.
 */
export function startWriterThread(path: string): Worker {
  const script = [
    'const __name = (target) => target;',
    "const { parentPort, workerData } = require('node:worker_threads');",
    `const configureConnection = ${configureConnection.toString()};`,
    `const createBatchApplier = ${createBatchApplier.toString()};`,
    `(${runWriterThread.toString()})({`,
    '  Database: require(workerData.sqliteModule),',
    '  port: parentPort,',
    '  path: workerData.path,',
    '  configureConnection,',
    '  createBatchApplier,',
    '});',
  ].join('\n');
  const sqliteModule = createRequire(import.meta.url).resolve('better-sqlite3');
  return new Worker(script, { eval: true, workerData: { path, sqliteModule } });
}
