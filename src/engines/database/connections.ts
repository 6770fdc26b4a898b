import type { Logger } from 'pino';
import type { DatabasePlugin } from './plugin.js';
import { pluginFor, type DatabaseConfig } from './model.js';

/**
 * The open plugin (and so the connection pool) of each config entry, opened on first use. An
 * entry is closed when its config is rewritten, reset or deleted, and all are closed on cleanup.
 */
export class ConnectionRegistry {
  private readonly open = new Map<string, Promise<DatabasePlugin>>();

  constructor(private readonly logger: Logger) {}

  /** Returns the open plugin of a config entry, opening it from `config` when none is open. */
  get(name: string, config: DatabaseConfig): Promise<DatabasePlugin> {
    const existing = this.open.get(name);
    if (existing) return existing;
    const opening = Promise.resolve().then(() => pluginFor(config.plugin_name).open(config.connection_details));
    this.open.set(name, opening);
    // A failed open is not kept, so the next request tries again.
    opening.catch(() => {
      if (this.open.get(name) === opening) this.open.delete(name);
    });
    return opening;
  }

  /** Closes the plugin of a config entry, if one is open. */
  async close(name: string): Promise<void> {
    const opening = this.open.get(name);
    if (!opening) return;
    this.open.delete(name);
    try {
      await (await opening).close();
    } catch (err) {
      this.logger.warn({ db_name: name, error: err instanceof Error ? err.message : String(err) }, 'closing database connections failed');
    }
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.open.keys()].map((name) => this.close(name)));
  }
}

/**
 * Serializes work per key (a config or static role name): each task starts after the previous
 * task of the same key has settled, so two rotations of one password never interleave.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.catch(() => undefined).then(task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
