import { BadRequestError } from '../../errors.js';
import type { Backend, HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import { getJson } from '../../storage/storage.js';
import {
  checkSecretPath,
  folderPrefix,
  isSecretPath,
  listChildren,
  notFound,
  readPage,
} from './listing.js';

/**
 * KV version 1: each secret is one JSON object stored under its own path, with no versions. A write
 * replaces the whole object, and the request body itself is the secret.
 *
 * NOTE: Vault copies a `ttl` (or `lease`) key of a v1 secret into the response's `lease_duration`
 * as an advisory refresh interval. `LogicalResponse` has no field for a lease duration without a
 * lease, so Coffer does not report it yet.
 */
export function createKvV1Backend(): Backend {
  const secretPath: PathSpec = {
    pattern: '(?<path>.*)',
    allowUnknownFields: true,
    existenceCheck: async (ctx) => {
      const path = ctx.params.path ?? '';
      return isSecretPath(path) && (await ctx.backend.storage.get(path)) !== null;
    },
    operations: {
      read: readSecret,
      update: writeSecret,
      delete: deleteSecret,
      list: listSecrets,
    },
    help: 'Reads, writes, deletes and lists secrets. The JSON body of a write is the secret.',
  };
  return { paths: [secretPath] };
}

async function readSecret(ctx: HandlerContext): Promise<LogicalResponse> {
  const path = ctx.params.path ?? '';
  if (!isSecretPath(path)) return notFound();

  const secret = await getJson<Record<string, unknown>>(ctx.backend.storage, path);
  if (secret === null) return notFound();
  return { data: secret };
}

async function writeSecret(ctx: HandlerContext): Promise<null> {
  const path = ctx.params.path ?? '';
  checkSecretPath(path);

  // The body is the secret, so it is taken whole from the request, not from the validated fields.
  // NOTE: query parameters merged into `req.data` by the HTTP layer become part of the secret.
  const secret = ctx.req.data;
  if (Object.keys(secret).length === 0) {
    throw new BadRequestError(
      'missing data fields: the request body must be a JSON object with at least one key',
    );
  }
  await ctx.backend.storage.put(path, Buffer.from(JSON.stringify(secret), 'utf8'));
  return null;
}

async function deleteSecret(ctx: HandlerContext): Promise<null> {
  const path = ctx.params.path ?? '';
  if (isSecretPath(path)) await ctx.backend.storage.delete(path);
  return null;
}

async function listSecrets(ctx: HandlerContext): Promise<LogicalResponse> {
  const page = readPage(ctx.req);
  return listChildren(ctx.backend.storage, folderPrefix(ctx.params.path ?? ''), page);
}
