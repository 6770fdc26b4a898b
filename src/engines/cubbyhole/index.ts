import { BadRequestError, PermissionDeniedError } from '../../errors.js';
import type { Backend, BackendFactory, HandlerContext, PathSpec } from '../../framework/types.js';
import { StorageView } from '../../storage/storage.js';
import { readPage } from '../../framework/paging.js';

/**
 * Builds the cubbyhole: a private KV store per token. Every key lives under the salted hash of the
 * calling token, so no other token can see it, root included, and it is deleted with the token.
 */
export const cubbyholeBackend: BackendFactory = (context): Backend => {
  const tokenStorage = (ctx: HandlerContext): StorageView => {
    const tokenId = ctx.req.auth?.tokenId;
    if (!tokenId) throw new PermissionDeniedError('permission denied: the cubbyhole needs a client token');
    if (ctx.req.auth?.tokenType === 'batch') throw new BadRequestError('batch tokens have no cubbyhole; use a service token');
    return new StorageView(context.storage, `${tokenId}/`);
  };

  const keyOf = (ctx: HandlerContext): string => {
    const path = ctx.params.path ?? '';
    if (path === '' || path.endsWith('/')) throw new BadRequestError('missing secret path: give a key such as "cubbyhole/app"');
    return path;
  };

  const paths: PathSpec[] = [
    {
      pattern: '(?<path>.*)',
      allowUnknownFields: true,
      existenceCheck: async (ctx) => (await tokenStorage(ctx).get(keyOf(ctx))) !== null,
      operations: {
        read: async (ctx) => {
          const raw = await tokenStorage(ctx).get(keyOf(ctx));
          return raw ? { data: JSON.parse(raw.toString('utf8')) as Record<string, unknown> } : null;
        },
        update: async (ctx) => {
          const data = { ...ctx.req.data };
          if (Object.keys(data).length === 0) throw new BadRequestError('missing data: write at least one key=value pair');
          await tokenStorage(ctx).put(keyOf(ctx), Buffer.from(JSON.stringify(data), 'utf8'));
          return null;
        },
        delete: async (ctx) => {
          await tokenStorage(ctx).delete(keyOf(ctx));
          return null;
        },
        list: async (ctx) => {
          const prefix = ctx.params.path ?? '';
          const keys = await tokenStorage(ctx).list(prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`, readPage(ctx.req));
          return keys.length === 0 ? null : { data: { keys } };
        },
      },
    },
  ];
  return { paths };
};
