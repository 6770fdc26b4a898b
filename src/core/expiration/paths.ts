import { BadRequestError } from '../../errors.js';
import type { FieldSpec, HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import type { ExpirationManager } from './manager.js';
import { readPage } from '../../framework/paging.js';

/** Lease paths (relative to `sys/`) that need the `sudo` capability, as in Vault. */
export const LEASE_ROOT_PATHS = ['leases/lookup/*', 'leases/revoke-prefix/*', 'leases/revoke-force/*', 'revoke-prefix/*', 'revoke-force/*'];

const LEASE_ID_FIELDS: Record<string, FieldSpec> = {
  lease_id: { type: 'string', description: 'ID of the lease; the URL may carry it instead.' },
  url_lease_id: { type: 'string', description: 'ID of the lease, taken from the URL.' },
};

const RENEW_FIELDS: Record<string, FieldSpec> = {
  ...LEASE_ID_FIELDS,
  increment: { type: 'duration', description: 'Requested extension in seconds or as a duration such as "1h"; 0 asks for the mount default.' },
};

const REVOKE_FIELDS: Record<string, FieldSpec> = {
  ...LEASE_ID_FIELDS,
  sync: { type: 'bool', description: 'Waits for the revocation to finish (default); false runs it in the background.', default: true },
};

const PREFIX_FIELDS: Record<string, FieldSpec> = {
  prefix: { type: 'string', description: 'Lease ID prefix, such as "database/creds/readonly/".' },
  sync: { type: 'bool', description: 'Waits for the revocations to finish (default); false runs them in the background.', default: true },
};

const COUNT_FIELDS: Record<string, FieldSpec> = {
  type: { type: 'string', description: 'Kind of lease to count; only "irrevocable" is supported, as in Vault.' },
  include_child_namespaces: { type: 'bool', description: 'Accepted for compatibility; Coffer has only the root namespace.' },
};

/** Declares the `sys/leases/*` paths and the older `sys/renew`, `sys/revoke*` forms, relative to `sys/`. */
export function leasePaths(manager: ExpirationManager): PathSpec[] {
  const renew = (ctx: HandlerContext) => renewLease(manager, ctx);
  const revoke = (ctx: HandlerContext) => revokeLease(manager, ctx);
  const revokePrefix = (force: boolean) => (ctx: HandlerContext) => revokeByPrefix(manager, ctx, force);

  return [
    {
      pattern: 'leases/lookup/?',
      fields: { lease_id: LEASE_ID_FIELDS.lease_id },
      operations: {
        update: (ctx) => lookupLease(manager, ctx),
        list: (ctx) => listLeases(manager, '', ctx),
      },
      help: 'Returns the metadata of a lease (PUT with lease_id), or lists the top-level lease ID prefixes (LIST).',
    },
    {
      pattern: 'leases/lookup/(?<prefix>.+)',
      fields: { prefix: PREFIX_FIELDS.prefix },
      operations: { list: (ctx) => listLeases(manager, ctx.params.prefix, ctx) },
      help: 'Lists the lease IDs and folders under a prefix; the query parameters "after" and "limit" page through them.',
    },
    { pattern: '(?:leases/)?renew', fields: RENEW_FIELDS, operations: { update: renew }, help: 'Renews a lease by "increment" seconds.' },
    { pattern: '(?:leases/)?renew/(?<url_lease_id>.+)', fields: RENEW_FIELDS, operations: { update: renew }, help: 'Renews the lease named in the URL.' },
    { pattern: '(?:leases/)?revoke', fields: REVOKE_FIELDS, operations: { update: revoke }, help: 'Revokes a lease.' },
    { pattern: '(?:leases/)?revoke/(?<url_lease_id>.+)', fields: REVOKE_FIELDS, operations: { update: revoke }, help: 'Revokes the lease named in the URL.' },
    {
      pattern: '(?:leases/)?revoke-prefix/(?<prefix>.+)',
      fields: PREFIX_FIELDS,
      operations: { update: revokePrefix(false) },
      help: 'Revokes every lease under a prefix. Needs sudo.',
    },
    {
      pattern: '(?:leases/)?revoke-force/(?<prefix>.+)',
      fields: PREFIX_FIELDS,
      operations: { update: revokePrefix(true) },
      help: 'Removes every lease under a prefix and ignores backend errors, so secrets may stay valid outside Coffer. Needs sudo.',
    },
    {
      pattern: 'leases/tidy',
      operations: { update: async (ctx) => tidyLeases(manager, ctx) },
      help: 'Starts removing index entries of missing leases and revoking leases of tokens that no longer exist.',
    },
    {
      pattern: 'leases/count',
      fields: COUNT_FIELDS,
      operations: { read: (ctx) => countLeases(manager, ctx) },
      help: 'Counts irrevocable leases, in total and by mount.',
    },
  ];
}

async function lookupLease(manager: ExpirationManager, ctx: HandlerContext): Promise<LogicalResponse> {
  const leaseId = requireLeaseId(ctx);
  const info = await manager.lookup(leaseId);
  if (!info) throw new BadRequestError('invalid lease ID: no lease has this ID');
  return { data: { ...info } };
}

async function listLeases(manager: ExpirationManager, prefix: string, ctx: HandlerContext): Promise<LogicalResponse> {
  const keys = await manager.list(prefix, readPage(ctx.req));
  return { data: { keys } };
}

async function renewLease(manager: ExpirationManager, ctx: HandlerContext): Promise<LogicalResponse> {
  const leaseId = requireLeaseId(ctx);
  const increment = ctx.fields.increment as number | undefined;
  const grant = await manager.renew(leaseId, increment);
  return {
    data: null,
    lease: { id: grant.leaseId, duration: grant.ttl, renewable: grant.renewable },
    warnings: grant.warnings.length > 0 ? grant.warnings : undefined,
  };
}

async function revokeLease(manager: ExpirationManager, ctx: HandlerContext): Promise<null> {
  await manager.revoke(requireLeaseId(ctx), { sync: ctx.fields.sync !== false });
  return null;
}

async function revokeByPrefix(manager: ExpirationManager, ctx: HandlerContext, force: boolean): Promise<null> {
  const prefix = ctx.params.prefix;
  if (ctx.fields.sync === false) {
    void manager.revokePrefix(prefix, { force }).catch((err: unknown) => {
      ctx.backend.logger.error({ prefix, request_id: ctx.req.id, err: (err as Error).message }, 'background revoke-prefix failed');
    });
    return null;
  }
  await manager.revokePrefix(prefix, { force });
  return null;
}

function tidyLeases(manager: ExpirationManager, ctx: HandlerContext): LogicalResponse {
  void manager.tidy().catch((err: unknown) => {
    ctx.backend.logger.error({ request_id: ctx.req.id, err: (err as Error).message }, 'lease tidy failed');
  });
  return {
    data: null,
    warnings: ['Tidy operation successfully started. Its results are written to the server log.'],
    status: 202,
  };
}

async function countLeases(manager: ExpirationManager, ctx: HandlerContext): Promise<LogicalResponse> {
  const type = ctx.fields.type as string | undefined;
  if (!type) throw new BadRequestError('missing "type": set it to "irrevocable"');
  if (type !== 'irrevocable') throw new BadRequestError(`invalid "type": ${JSON.stringify(type.slice(0, 40))}: only "irrevocable" is supported`);
  return { data: { ...(await manager.count()) } };
}

/** Returns the lease ID from the body, or else from the URL; throws 400 when neither has one. */
function requireLeaseId(ctx: HandlerContext): string {
  const fromBody = ctx.fields.lease_id as string | undefined;
  const leaseId = fromBody !== undefined && fromBody !== '' ? fromBody : (ctx.params.url_lease_id ?? '');
  if (leaseId === '') throw new BadRequestError('missing "lease_id": name the lease, for example "database/creds/readonly/2f6a..."');
  return leaseId;
}

