import type { Backend, BackendContext, BackendFactory } from '../../framework/types.js';
import type { TransitEngine } from './engine.js';
import { cryptPaths } from './paths-crypt.js';
import { exportPaths } from './paths-export.js';
import { importPaths } from './paths-import.js';
import { keyPaths } from './paths-keys.js';
import { cacheSize, miscPaths } from './paths-misc.js';
import { signPaths } from './paths-sign.js';
import { KeyStore } from './store.js';

/** How often the auto-rotation timer checks every key, in milliseconds. */
const ROTATION_CHECK_INTERVAL_MS = 60_000;

export interface TransitOptions {
  /** Interval of the auto-rotation check; tests shorten it. */
  rotationCheckIntervalMs?: number;
  /** Clock in milliseconds since the epoch; tests move it forward. */
  now?: () => number;
}

/**
 * Creates the transit secrets engine: named keys kept in the mount's storage, used to encrypt,
 * decrypt, sign, verify and HMAC data that callers send, so applications never hold the keys.
 */
export function createTransitBackend(ctx: BackendContext, options: TransitOptions = {}): Backend {
  const engine: TransitEngine = {
    store: new KeyStore(ctx.storage, ctx.logger, options.now),
    storage: ctx.storage,
    logger: ctx.logger,
  };
  const intervalMs = options.rotationCheckIntervalMs ?? ROTATION_CHECK_INTERVAL_MS;
  let timer: NodeJS.Timeout | undefined;
  let sweep: Promise<unknown> = Promise.resolve();

  const paths = [
    ...keyPaths(engine),
    ...importPaths(engine),
    ...cryptPaths(engine),
    ...signPaths(engine),
    ...exportPaths(engine),
    ...miscPaths(engine),
  ];

  return {
    paths,
    async initialize() {
      engine.store.setCacheSize(await cacheSize(engine));
      // Rotation due dates come from each key's stored creation times, so a key that fell due
      // while the server was down rotates at the first check after start.
      const check = () => {
        sweep = engine.store.rotateDueKeys().catch((err) => ctx.logger.error({ err }, 'transit auto-rotation check failed'));
      };
      check();
      timer = setInterval(() => sweep.then(check), intervalMs);
      timer.unref();
    },
    async cleanup() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await sweep;
    },
  };
}

/** The transit engine as mounted with `{"type": "transit"}`. */
export const transitBackend: BackendFactory = (ctx) => createTransitBackend(ctx);
