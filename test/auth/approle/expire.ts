import type { Storage } from '../../../src/storage/storage.js';

/**
 * Moves the expiry of every stored secret ID issued with `ttl` seconds into the past, so a test
 * can check expiry without waiting for it.
 */
export async function expireSecretIds(storage: Storage, ttl: number): Promise<void> {
  for (const folder of await storage.list('secret-id/')) {
    for (const key of await storage.list(`secret-id/${folder}`)) {
      const fullKey = `secret-id/${folder}${key}`;
      const entry = JSON.parse((await storage.get(fullKey))!.toString('utf8'));
      if (entry.ttl !== ttl) continue;
      entry.expirationTime = Date.now() - 1000;
      await storage.put(fullKey, Buffer.from(JSON.stringify(entry)));
    }
  }
}
