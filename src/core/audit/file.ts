import { writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { BadRequestError } from '../../errors.js';
import type { AuditSink } from './types.js';

/** Options of the `file` device, parsed from its string options. */
export interface FileSinkOptions {
  /** A file path, or the keywords `stdout` and `discard`. */
  filePath: string;
  /** Permission bits applied to the file; 0 leaves the file's mode as it is. */
  mode: number;
}

const DEFAULT_MODE = 0o600;

/** Parses `file_path` (or its alias `path`) and `mode`; throws a 400 on a missing or bad value. */
export function parseFileSinkOptions(options: Record<string, string>): FileSinkOptions {
  const filePath = options.file_path || options.path;
  if (!filePath) throw new BadRequestError('missing option "file_path" for the file audit device');

  let mode = DEFAULT_MODE;
  if (options.mode !== undefined && options.mode !== '') {
    if (!/^0?[0-7]{1,4}$/.test(options.mode)) {
      throw new BadRequestError('invalid value for option "mode": expected an octal string such as "0600"');
    }
    mode = parseInt(options.mode, 8);
  }
  if ((mode & 0o111) !== 0) {
    throw new BadRequestError('invalid value for option "mode": an audit file must not be executable');
  }
  return { filePath, mode };
}

/**
 * Creates the sink for the options without opening anything. The caller's first `reopen()` opens
 * the file, and any write opens it when it is not open.
 */
export function newFileSink(options: FileSinkOptions): AuditSink {
  if (options.filePath === 'discard') return new DiscardSink();
  if (options.filePath === 'stdout') return new StdoutSink();
  return new FileSink(options.filePath, options.mode);
}

/** A written line whose caller waits for a sync. */
interface SyncWaiter {
  /** The `losses` value that the request's appended line resolved with, if it had one. */
  appendedAt?: number;
  resolve: (losses: number) => void;
  reject: (err: unknown) => void;
}

/**
 * Appends lines to a file. Each line is written with one synchronous `write`, which copies it to
 * the page cache in a few microseconds and costs far less than a round trip through the libuv
 * thread pool. A durable `write` then resolves after an `fdatasync` that started after its bytes
 * were written, and that sync also covers every line written before it. Durable writes that arrive
 * while a sync runs share the next sync (group commit). An `append` resolves without a sync.
 *
 * NOTE: a synchronous write blocks the event loop while the kernel accepts it, so a destination
 * that blocks writes (a FIFO whose reader stopped reading, a hung network file system) stalls the
 * server.
 */
export class FileSink implements AuditSink {
  private handle: FileHandle | null = null;
  /** True when a write or sync failed on `handle`, so the next write opens the path again. */
  private handleBroken = false;
  /** The running replacement of `handle`, which writes wait for. */
  private replacing: Promise<void> | null = null;
  /** Written lines whose callers wait for a sync. */
  private awaitingSync: SyncWaiter[] = [];
  private syncing: Promise<void> | null = null;
  /** True when bytes were written to `handle` after the last sync started. */
  private unsynced = false;
  /**
   * True from a failed sync until a sync succeeds. Appends then wait for a sync as well, so a
   * device that fails on sync still fails a request before its handler runs.
   */
  private syncFailing = false;
  /** Number of times written lines may have been lost before a sync made them durable. */
  private losses = 0;
  private closed = false;
  /** Lines of the current event-loop turn, written together. */
  private pendingBatch: { lines: Buffer[]; written: Promise<void> } | null = null;
  /** The last batch write, which the next batch waits for so lines stay in order. */
  private writeChain: Promise<void> = Promise.resolve();

  /** Number of `fdatasync` calls that succeeded, for tests and metrics. */
  syncCount = 0;

  constructor(
    readonly filePath: string,
    private readonly mode: number,
  ) {}

  async write(line: string, appendedAt?: number): Promise<void> {
    await this.writeLine(line);
    await this.waitForSync(appendedAt);
  }

  async append(line: string): Promise<number> {
    await this.writeLine(line);
    return this.syncFailing ? this.waitForSync(undefined) : this.losses;
  }

  /**
   * Closes the file and opens the path again, so a rotated file is replaced by a new one. Lines
   * written to the old file are synced before it is closed. If the open fails the error is thrown
   * and each later write tries to open the file again.
   */
  reopen(): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`audit file "${this.filePath}" is closed`));
    const replaced = (this.replacing ?? Promise.resolve()).then(() => this.replaceHandle());
    // `replacing` never rejects, so nothing is left unhandled when no write waits for it.
    const settled = replaced.then(
      () => undefined,
      () => undefined,
    );
    this.replacing = settled;
    void settled.then(() => {
      if (this.replacing === settled) this.replacing = null;
    });
    return replaced;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.writeChain;
    while (this.replacing || this.syncing) await (this.replacing ?? this.syncing);
    await this.releaseHandle();
  }

  /**
   * Writes a line, batched with the lines of other requests in the same event-loop turn into one
   * write call. Batches are written in order, and every caller of a failed batch gets its error.
   */
  private writeLine(line: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`audit file "${this.filePath}" is closed`));
    let batch = this.pendingBatch;
    if (!batch) {
      const lines: Buffer[] = [];
      const written = this.writeChain.then(() => new Promise<void>((resolve) => setImmediate(resolve))).then(() => {
        if (this.pendingBatch === batch) this.pendingBatch = null;
        return this.writeLines(lines);
      });
      // The chain continues after a failed batch; each batch reports its own failure.
      this.writeChain = written.catch(() => undefined);
      batch = { lines, written };
      this.pendingBatch = batch;
    }
    batch.lines.push(Buffer.from(line, 'utf8'));
    return batch.written;
  }

  private async writeLines(lines: Buffer[]): Promise<void> {
    // Writes that queue behind a replacement resume in arrival order, so lines keep their order.
    while (this.replacing || !this.handle || this.handleBroken) {
      if (this.replacing) await this.replacing;
      else await this.reopen();
    }

    const data = lines.length === 1 ? lines[0] : Buffer.concat(lines);
    try {
      let offset = 0;
      while (offset < data.length) offset += writeSync(this.handle!.fd, data, offset, data.length - offset);
    } catch (err) {
      // The next write opens the path again and can recover once the cause is fixed.
      // NOTE: a write that failed part-way leaves a partial line in the file.
      this.handleBroken = true;
      throw err;
    }
    this.unsynced = true;
  }

  private waitForSync(appendedAt: number | undefined): Promise<number> {
    return new Promise((resolve, reject) => {
      this.awaitingSync.push({ appendedAt, resolve, reject });
      this.startSyncing();
    });
  }

  private startSyncing(): void {
    if (this.syncing || this.awaitingSync.length === 0) return;
    this.syncing = this.syncLoop().finally(() => {
      this.syncing = null;
      this.startSyncing();
    });
  }

  private async syncLoop(): Promise<void> {
    // Yield one turn so that lines written by the same burst of requests share the first sync.
    await new Promise<void>((resolve) => setImmediate(resolve));

    while (this.awaitingSync.length > 0) {
      const waiters = this.awaitingSync.splice(0);
      // Every waiter's bytes were written before this point, so this sync covers them.
      this.unsynced = false;
      try {
        await this.handle!.datasync();
        this.syncCount++;
        this.syncFailing = false;
      } catch (err) {
        // Linux may drop the dirty pages of a failed sync, so every unsynced line counts as lost.
        this.losses++;
        this.syncFailing = true;
        this.handleBroken = true;
        for (const waiter of waiters) waiter.reject(err);
        continue;
      }

      for (const waiter of waiters) {
        if (waiter.appendedAt !== undefined && waiter.appendedAt !== this.losses) {
          waiter.reject(new Error(`an earlier line of this request may be lost: a sync of audit file "${this.filePath}" failed`));
        } else {
          waiter.resolve(this.losses);
        }
      }
    }
  }

  /** Syncs and closes the current handle, then opens the path. */
  private async replaceHandle(): Promise<void> {
    await this.releaseHandle();
    this.handle = await this.openFile();
    this.handleBroken = false;
  }

  /**
   * Closes the current handle once no sync runs on it. Appended lines on it are synced first,
   * because the later lines of their requests go to the next handle, whose sync does not cover
   * them when the path now names another file.
   */
  private async releaseHandle(): Promise<void> {
    while (this.syncing) await this.syncing;
    const handle = this.handle;
    this.handle = null;
    if (!handle) return;

    if (this.unsynced) {
      this.unsynced = false;
      try {
        await handle.datasync();
        this.syncCount++;
      } catch {
        this.losses++;
        this.syncFailing = true;
      }
    }
    await handle.close().catch(() => undefined);
  }

  private async openFile(): Promise<FileHandle> {
    const handle = await open(this.filePath, 'a', this.mode || DEFAULT_MODE);
    try {
      // Apply the mode to an existing file too, but never to a device node such as /dev/full.
      const stats = await handle.stat();
      if (this.mode !== 0 && stats.isFile() && (stats.mode & 0o7777) !== this.mode) {
        await handle.chmod(this.mode);
      }
    } catch (err) {
      await handle.close();
      throw err;
    }
    return handle;
  }
}

/** Writes lines to the process's standard output; nothing is synced. */
class StdoutSink implements AuditSink {
  write(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      process.stdout.write(line, (err) => (err ? reject(err) : resolve()));
    });
  }

  async append(line: string): Promise<number> {
    await this.write(line);
    return 0;
  }

  async reopen(): Promise<void> {}

  async close(): Promise<void> {}
}

/** Accepts lines and drops them (Vault's `discard`, for tests). */
class DiscardSink implements AuditSink {
  async write(): Promise<void> {}

  async append(): Promise<number> {
    return 0;
  }

  async reopen(): Promise<void> {}

  async close(): Promise<void> {}
}
