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

interface PendingWrite {
  data: Buffer;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Appends lines to a file and makes each durable before its write resolves. Writes that arrive
 * while a flush runs (or in the same event-loop turn) are joined into one `write` and one
 * `fdatasync` (group commit), so concurrent requests share a sync.
 */
export class FileSink implements AuditSink {
  private handle: FileHandle | null = null;
  private pending: PendingWrite[] = [];
  private flushing: Promise<void> | null = null;
  /** Serializes every use of `handle`: batch writes, reopen and close. */
  private handleLock: Promise<void> = Promise.resolve();
  private closed = false;

  /** Number of `fdatasync` calls made, for tests and metrics. */
  syncCount = 0;

  constructor(
    readonly filePath: string,
    private readonly mode: number,
  ) {}

  write(line: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`audit file "${this.filePath}" is closed`));
    return new Promise((resolve, reject) => {
      this.pending.push({ data: Buffer.from(line, 'utf8'), resolve, reject });
      this.startFlush();
    });
  }

  /**
   * Closes the file and opens the path again, so a rotated file is replaced by a new one. If the
   * open fails the error is thrown and each later write tries to open the file again.
   */
  reopen(): Promise<void> {
    return this.withHandleLock(async () => {
      await this.closeHandle();
      this.handle = await this.openFile();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flushing;
    await this.withHandleLock(() => this.closeHandle());
  }

  private withHandleLock<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.handleLock.then(operation);
    this.handleLock = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private startFlush(): void {
    if (this.flushing) return;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = null;
      // A write may have queued after the loop saw an empty queue but before this callback.
      if (this.pending.length > 0) this.startFlush();
    });
  }

  private async flushLoop(): Promise<void> {
    // Yield one turn so that writes queued by the same burst of requests share the first sync.
    await new Promise<void>((resolve) => setImmediate(resolve));

    while (this.pending.length > 0) {
      const batch = this.pending.splice(0);
      try {
        const data = Buffer.concat(batch.map((w) => w.data));
        await this.withHandleLock(() => this.writeBatch(data));
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
  }

  private async writeBatch(data: Buffer): Promise<void> {
    if (!this.handle) this.handle = await this.openFile();

    try {
      let offset = 0;
      while (offset < data.length) {
        const { bytesWritten } = await this.handle.write(data, offset, data.length - offset);
        offset += bytesWritten;
      }
      await this.handle.datasync();
      this.syncCount++;
    } catch (err) {
      // Drop the handle so the next batch opens the path again and can recover once the cause
      // is fixed. NOTE: a write that failed part-way leaves a partial line in the file.
      await this.closeHandle().catch(() => undefined);
      throw err;
    }
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

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.close();
  }
}

/** Writes lines to the process's standard output; nothing is synced. */
class StdoutSink implements AuditSink {
  write(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      process.stdout.write(line, (err) => (err ? reject(err) : resolve()));
    });
  }

  async reopen(): Promise<void> {}

  async close(): Promise<void> {}
}

/** Accepts lines and drops them (Vault's `discard`, for tests). */
class DiscardSink implements AuditSink {
  async write(): Promise<void> {}

  async reopen(): Promise<void> {}

  async close(): Promise<void> {}
}
