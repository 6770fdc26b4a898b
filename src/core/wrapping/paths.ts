import { BadRequestError } from '../../errors.js';
import type { FieldSpec, HandlerContext, PathSpec } from '../../framework/types.js';
import type { ResponseWrapper } from './wrap.js';

const tokenField: Record<string, FieldSpec> = { token: { type: 'string', description: 'The wrapping token; the client token when absent.' } };

/** Builds the `sys/wrapping/` paths: wrap, lookup, unwrap and rewrap. */
export function wrappingPaths(wrapper: ResponseWrapper): PathSpec[] {
  const wrappingToken = (ctx: HandlerContext): string => {
    const token = (ctx.fields.token as string | undefined) || ctx.req.clientToken;
    if (!token) throw new BadRequestError('missing "token": give the wrapping token in the body or as the client token');
    return token;
  };

  return [
    {
      pattern: 'wrapping/wrap',
      allowUnknownFields: true,
      operations: {
        update: async (ctx) => {
          if (ctx.req.wrapTtl === undefined) throw new BadRequestError('missing X-Vault-Wrap-TTL header: sys/wrapping/wrap needs a wrapping TTL');
          if (Object.keys(ctx.req.data).length === 0) throw new BadRequestError('missing data to wrap');
          return { data: { ...ctx.req.data } };
        },
      },
    },
    {
      pattern: 'wrapping/lookup',
      fields: tokenField,
      operations: {
        read: async (ctx) => ({ data: await wrapper.lookup(wrappingToken(ctx)) }),
        update: async (ctx) => ({ data: await wrapper.lookup(wrappingToken(ctx)) }),
      },
    },
    {
      pattern: 'wrapping/unwrap',
      fields: tokenField,
      operations: {
        update: async (ctx) => {
          const envelope = await wrapper.unwrap(wrappingToken(ctx));
          return { raw: { status: 200, body: { ...envelope, request_id: ctx.req.id } } };
        },
      },
    },
    {
      pattern: 'wrapping/rewrap',
      fields: tokenField,
      operations: {
        update: async (ctx) => {
          const envelope = await wrapper.rewrap(wrappingToken(ctx));
          return { raw: { status: 200, body: { ...envelope, request_id: ctx.req.id } } };
        },
      },
    },
  ];
}
