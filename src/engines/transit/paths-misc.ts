import { createHash, randomBytes } from 'node:crypto';
import { BadRequestError } from '../../errors.js';
import type { HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import { getJson, putJson } from '../../storage/storage.js';
import { decodeBase64 } from './ciphertext.js';
import { KEYS_CONFIG_KEY, upsertAllowed, type TransitEngine } from './engine.js';
import { digestName, outputFormat } from './hashing.js';
import { DEFAULT_CACHE_SIZE } from './store.js';

/** Storage key of the cache size set by `cache-config`. */
export const CACHE_CONFIG_KEY = 'config/cache';

/** Largest `random` request in bytes (Vault's limit of 128 KiB). */
const MAX_RANDOM_BYTES = 128 * 1024;
/** Smallest non-zero cache size Vault accepts. */
const MIN_CACHE_SIZE = 10;

/** Paths `random`, `hash`, `cache-config` and `config/keys`. */
export function miscPaths(engine: TransitEngine): PathSpec[] {
  return [
    {
      pattern: '(?:random|random/(?<source>platform|seal|all))(?:/(?<url_bytes>\\d+))?',
      fields: {
        bytes: { type: 'int', description: 'Number of random bytes.', default: 32 },
        format: { type: 'string', description: 'Output encoding: base64 or hex.', default: 'base64' },
      },
      operations: { update: async (ctx) => randomOutput(ctx) },
      help: 'Returns random bytes from the platform source. The seal and all sources give the same bytes.',
    },
    {
      pattern: 'hash(?:/(?<url_algorithm>[\\w-]+))?',
      fields: {
        input: { type: 'string', description: 'Base64 input data.', required: true },
        algorithm: { type: 'string', description: 'sha2-224/256/384/512 or sha3-224/256/384/512.', default: 'sha2-256' },
        format: { type: 'string', description: 'Output encoding: hex or base64.', default: 'hex' },
      },
      operations: { update: async (ctx) => hashOutput(ctx) },
      help: 'Returns the hash of base64 input.',
    },
    {
      pattern: 'cache-config',
      fields: { size: { type: 'int', description: 'Maximum number of keys in the cache; 0 means unlimited, otherwise at least 10.', default: 0 } },
      operations: {
        read: async () => ({ data: { size: await cacheSize(engine) } }),
        update: (ctx) => writeCacheConfig(engine, ctx),
      },
      help: 'Reads or sets the size of the decoded-key cache. A new size applies at once.',
    },
    {
      pattern: 'config/keys',
      fields: { disable_upsert: { type: 'bool', description: 'Stop encrypt from creating missing keys.', default: false } },
      operations: {
        read: async () => ({ data: { disable_upsert: !(await upsertAllowed(engine)) } }),
        update: async (ctx) => {
          const config = { disable_upsert: ctx.fields.disable_upsert as boolean };
          await putJson(engine.storage, KEYS_CONFIG_KEY, config);
          return { data: config };
        },
      },
      help: 'Reads or sets mount-wide key settings: disable_upsert.',
    },
  ];
}

function randomOutput(ctx: HandlerContext): LogicalResponse {
  const bytes = ctx.params.url_bytes !== undefined ? Number(ctx.params.url_bytes) : (ctx.fields.bytes as number);
  if (!(bytes >= 1 && bytes <= MAX_RANDOM_BYTES)) {
    throw new BadRequestError(`invalid bytes ${bytes}: request 1 to ${MAX_RANDOM_BYTES} bytes`);
  }
  const format = outputFormat(ctx.fields.format, 'base64');
  return { data: { random_bytes: randomBytes(bytes).toString(format) } };
}

function hashOutput(ctx: HandlerContext): LogicalResponse {
  const algorithm = digestName(ctx.params.url_algorithm ?? (ctx.fields.algorithm as string));
  const format = outputFormat(ctx.fields.format, 'hex');
  const input = decodeBase64(ctx.fields.input as string, 'input');
  return { data: { sum: createHash(algorithm).update(input).digest(format) } };
}

/** Reads the configured cache size, or the default when `cache-config` was never written. */
export async function cacheSize(engine: TransitEngine): Promise<number> {
  const config = await getJson<{ size: number }>(engine.storage, CACHE_CONFIG_KEY);
  return config?.size ?? DEFAULT_CACHE_SIZE;
}

async function writeCacheConfig(engine: TransitEngine, ctx: HandlerContext): Promise<LogicalResponse> {
  const size = ctx.fields.size as number;
  if (size < 0 || (size > 0 && size < MIN_CACHE_SIZE)) {
    throw new BadRequestError(`invalid cache size ${size}: use 0 for unlimited, or at least ${MIN_CACHE_SIZE}`);
  }
  await putJson(engine.storage, CACHE_CONFIG_KEY, { size });
  engine.store.setCacheSize(size);
  return { data: { size } };
}
