import type { Logger } from 'pino';
import type { Storage } from '../../storage/storage.js';

const PAGE_SIZE = 500;

/**
 * Removes token-store index entries that point at tokens which no longer exist: accessors, parent
 * links and auth-mount links left behind by a crash between writes. Returns how many it removed.
 */
export async function tidyTokenIndexes(storage: Storage, logger: Logger): Promise<number> {
  // Storage is read directly, because the token store's cache may still hold a lost entry.
  const exists = async (id: string) => (await storage.get(`id/${id}`)) !== null;
  let removed = 0;

  await forEachKey(storage, 'accessor/', async (key) => {
    const id = await storage.get(key);
    if (id !== null && (await exists(id.toString()))) return;
    await storage.delete(key);
    removed++;
  });
  for (const index of ['parent/', 'mount/']) {
    await forEachKey(storage, index, async (key) => {
      const childId = key.slice(key.lastIndexOf('/') + 1);
      if (await exists(childId)) return;
      await storage.delete(key);
      removed++;
    });
  }

  logger.info({ removed }, 'token store tidied');
  return removed;
}

/** Calls `visit` with the full key of every entry under `prefix`, one page at a time. */
async function forEachKey(storage: Storage, prefix: string, visit: (key: string) => Promise<void>): Promise<void> {
  let after: string | undefined;
  for (;;) {
    const page = await storage.list(prefix, { after, limit: PAGE_SIZE });
    for (const child of page) {
      if (child.endsWith('/')) await forEachKey(storage, prefix + child, visit);
      else await visit(prefix + child);
    }
    if (page.length < PAGE_SIZE) return;
    after = page[page.length - 1];
  }
}
