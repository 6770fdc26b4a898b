import { BadRequestError, NotFoundError, PermissionDeniedError } from '../../errors.js';
import type { FieldSpec, HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import type { Acl } from './acl.js';
import { ROOT_POLICY_NAME } from './builtin.js';
import type { PolicyStore } from './store.js';
import { readPage } from '../../framework/paging.js';

/** Dependencies of the policy endpoints on the rest of core. */
export interface PolicyPathDeps {
  store: PolicyStore;
  /** Returns the policies of a token, or null when the token is not valid. */
  lookupTokenPolicies(token: string): Promise<string[] | null>;
  /** Returns the policies of the token with this accessor, or null when there is none. */
  lookupAccessorPolicies(accessor: string): Promise<string[] | null>;
}

const PATHS_FIELDS: Record<string, FieldSpec> = {
  paths: { type: 'comma-string-list', description: 'Paths to report capabilities on.' },
  path: { type: 'comma-string-list', description: 'Deprecated single-path form of "paths".' },
};

/**
 * Declares the `sys/` paths that manage ACL policies and report capabilities. Patterns are relative to the
 * `sys/` mount.
 */
export function policyPaths(deps: PolicyPathDeps): PathSpec[] {
  const { store } = deps;
  return [
    {
      pattern: 'policy/?',
      operations: {
        read: () => listPolicies(store, true),
        list: () => listPolicies(store, true),
      },
      help: 'Lists ACL policies. This legacy endpoint returns the names under both "policies" and "keys".',
    },
    {
      pattern: 'policy/(?<name>.+)',
      fields: {
        name: { type: 'string', description: 'Name of the policy.' },
        policy: { type: 'string', description: 'Policy text in HCL or JSON, optionally base64-encoded.' },
        rules: { type: 'string', description: 'Deprecated name of the "policy" field.' },
      },
      operations: {
        read: async (ctx) => {
          const stored = await readPolicy(store, ctx.params.name);
          return { data: { name: stored.name, rules: stored.raw }, mirrorDataAtTopLevel: true };
        },
        update: async (ctx) => {
          const text = ctx.fields.policy ?? ctx.fields.rules;
          await store.set(ctx.params.name, decodePolicyText(text));
          return null;
        },
        delete: async (ctx) => {
          await store.delete(ctx.params.name);
          return null;
        },
      },
      help: 'Reads, writes or deletes one ACL policy (legacy endpoint).',
    },
    {
      pattern: 'policies/acl/?',
      operations: {
        list: (ctx) => listPolicies(store, false, ctx),
      },
      help: 'Lists ACL policies; the query parameters "after" and "limit" page through them.',
    },
    {
      pattern: 'policies/acl/(?<name>.+)',
      fields: {
        name: { type: 'string', description: 'Name of the policy.' },
        policy: { type: 'string', description: 'Policy text in HCL or JSON, optionally base64-encoded.' },
      },
      operations: {
        read: async (ctx) => {
          const stored = await readPolicy(store, ctx.params.name);
          return { data: { name: stored.name, policy: stored.raw } };
        },
        update: async (ctx) => {
          await store.set(ctx.params.name, decodePolicyText(ctx.fields.policy));
          return null;
        },
        delete: async (ctx) => {
          await store.delete(ctx.params.name);
          return null;
        },
      },
      help: 'Reads, writes or deletes one ACL policy.',
    },
    {
      pattern: 'capabilities',
      fields: { token: { type: 'string', description: 'Token to check.' }, ...PATHS_FIELDS },
      operations: {
        update: async (ctx) => {
          const token = ctx.fields.token;
          if (typeof token !== 'string' || token === '') throw new BadRequestError('missing "token"');
          return capabilitiesResponse(ctx, await aclForToken(deps, token));
        },
      },
      help: 'Reports the capabilities of a token on one or more paths.',
    },
    {
      pattern: 'capabilities-self',
      fields: { token: { type: 'string', description: 'Token to check instead of the calling token.' }, ...PATHS_FIELDS },
      operations: {
        update: async (ctx) => {
          const token = ctx.fields.token;
          if (typeof token === 'string' && token !== '') {
            return capabilitiesResponse(ctx, await aclForToken(deps, token));
          }
          const auth = ctx.req.auth;
          if (auth === undefined) throw new PermissionDeniedError();
          const policies = auth.root ? [ROOT_POLICY_NAME, ...auth.policies] : auth.policies;
          const identity = auth.entityId ? { entityId: auth.entityId } : undefined;
          return capabilitiesResponse(ctx, await store.acl(policies, identity));
        },
      },
      help: 'Reports the capabilities of the calling token on one or more paths.',
    },
    {
      pattern: 'capabilities-accessor',
      fields: { accessor: { type: 'string', description: 'Accessor of the token to check.' }, ...PATHS_FIELDS },
      operations: {
        update: async (ctx) => {
          const accessor = ctx.fields.accessor;
          if (typeof accessor !== 'string' || accessor === '') throw new BadRequestError('missing "accessor"');
          const policies = await deps.lookupAccessorPolicies(accessor);
          if (policies === null) throw new BadRequestError('invalid accessor');
          return capabilitiesResponse(ctx, await store.acl(policies));
        },
      },
      help: 'Reports the capabilities of the token with the given accessor on one or more paths.',
    },
  ];
}

async function listPolicies(store: PolicyStore, legacy: boolean, ctx?: HandlerContext): Promise<LogicalResponse> {
  const options = ctx === undefined ? {} : readPage(ctx.req);
  const keys = await store.list(options);
  if (legacy) return { data: { policies: keys, keys }, mirrorDataAtTopLevel: true };
  return { data: { keys } };
}

async function readPolicy(store: PolicyStore, name: string) {
  const stored = await store.get(name);
  if (stored !== null) return stored;
  if (name.toLowerCase() === ROOT_POLICY_NAME) {
    throw new NotFoundError('the root policy is built in and has no policy text');
  }
  throw new NotFoundError(`no policy named ${JSON.stringify(name.slice(0, 80))}`);
}

/**
 * Returns the policy text from a request field. The text may be base64-encoded, as Vault
 * documents; a valid base64 string that decodes to UTF-8 is taken as encoded. Real policy text
 * is never valid base64, because it contains spaces, quotes and braces.
 */
export function decodePolicyText(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new BadRequestError('missing "policy": provide the policy text in HCL or JSON');
  }
  if (value.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return value;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(value, 'base64'));
  } catch {
    return value;
  }
}

// NOTE: the lookups return policies only, so templated policy paths of the inspected token are
// left out of these results. capabilities-self fills them from the caller's entity id.
async function aclForToken(deps: PolicyPathDeps, token: string): Promise<Acl> {
  const policies = await deps.lookupTokenPolicies(token);
  if (policies === null) throw new BadRequestError('invalid token');
  return deps.store.acl(policies);
}

function capabilitiesResponse(ctx: HandlerContext, acl: Acl): LogicalResponse {
  const paths = [...asList(ctx.fields.paths), ...asList(ctx.fields.path)];
  if (paths.length === 0) throw new BadRequestError('missing "paths": give at least one path');

  // A null prototype keeps a path named "__proto__" an ordinary key.
  const data: Record<string, unknown> = Object.create(null);
  for (const path of paths) {
    data[path] = acl.capabilities(path.replace(/^\/+/, ''));
  }
  // Vault repeats the result under "capabilities" when the request names one path, for older clients.
  if (paths.length === 1) data.capabilities = data[paths[0]];
  return { data, mirrorDataAtTopLevel: true };
}

function asList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
