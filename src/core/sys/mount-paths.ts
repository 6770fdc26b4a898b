import { randomUUID } from 'node:crypto';
import { BadRequestError, NotFoundError, PermissionDeniedError } from '../../errors.js';
import { parseDuration } from '../../framework/duration.js';
import { isPlainObject } from '../../framework/fields.js';
import type { FieldSpec, HandlerContext, PathSpec } from '../../framework/types.js';
import type { Core } from '../core.js';
import { normalizeMountPath, type MountEntry, type MountTable } from '../router/table.js';

const enableFields: Record<string, FieldSpec> = {
  type: { type: 'string', description: 'Secrets engine type, such as kv or kv-v2.' },
  description: { type: 'string', description: 'Human-friendly description of the mount.' },
  config: { type: 'map', description: 'default_lease_ttl, max_lease_ttl and other mount settings.' },
  options: { type: 'string-map', description: 'Engine options, such as {"version": "2"} for KV.' },
  local: { type: 'bool', description: 'Marks the mount local to this cluster.' },
  seal_wrap: { type: 'bool', description: 'Accepted for compatibility; every entry is already encrypted by the barrier.' },
  external_entropy_access: { type: 'bool', description: 'Not supported.' },
  plugin_name: { type: 'string', description: 'Deprecated alias of type.' },
  plugin_version: { type: 'string', description: 'Not supported.' },
};

const tuneFields: Record<string, FieldSpec> = {
  default_lease_ttl: { type: 'string', description: 'Default lease TTL in seconds, a duration string, or "system".' },
  max_lease_ttl: { type: 'string', description: 'Maximum lease TTL in seconds, a duration string, or "system".' },
  description: { type: 'string', description: 'Human-friendly description of the mount.' },
  options: { type: 'string-map', description: 'Engine options.' },
  audit_non_hmac_request_keys: { type: 'comma-string-list', description: 'Not supported yet.' },
  audit_non_hmac_response_keys: { type: 'comma-string-list', description: 'Not supported yet.' },
  listing_visibility: { type: 'string', description: 'Not supported yet.' },
  force_no_cache: { type: 'bool', description: 'Accepted for compatibility.' },
  token_type: { type: 'string', description: 'Auth mounts: service, batch, default-service or default-batch.' },
};

const TOKEN_TYPES = new Set(['service', 'batch', 'default-service', 'default-batch']);

/** Validates an auth mount's token type setting. */
function tokenTypeSetting(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || !TOKEN_TYPES.has(value)) {
    throw new BadRequestError('invalid token_type: use service, batch, default-service or default-batch');
  }
  return value;
}

/** Builds the sys paths that enable, list, tune and move secrets engines, and the UI mount lookups. */
export function mountPaths(core: Core): PathSpec[] {
  const migrations = new Map<string, { from: string; to: string }>();

  return [
    {
      pattern: 'mounts/?',
      operations: { read: async () => ({ data: describeTable(core.mountTable), mirrorDataAtTopLevel: true }) },
    },
    {
      pattern: 'mounts/(?<path>.+?)/tune',
      fields: tuneFields,
      operations: {
        read: async (ctx) => ({ data: tuneInfo(findMount(core.mountTable, ctx.params.path), core), mirrorDataAtTopLevel: true }),
        update: async (ctx) => {
          await tune(core, core.mountTable, ctx);
          return null;
        },
      },
    },
    {
      pattern: 'mounts/(?<path>.+)',
      fields: enableFields,
      operations: {
        read: async (ctx) => ({ data: describeMount(findMount(core.mountTable, ctx.params.path)), mirrorDataAtTopLevel: true }),
        update: async (ctx) => {
          const f = ctx.fields;
          const type = (f.type as string | undefined) ?? (f.plugin_name as string | undefined);
          if (!type) throw new BadRequestError('missing "type": name the secrets engine to enable, for example "kv-v2"');
          if (f.external_entropy_access) throw new BadRequestError('external_entropy_access is not supported');
          const config = mountConfigInput(f.config);
          await core.mountEngine(ctx.params.path, {
            type,
            description: f.description as string | undefined,
            config,
            options: f.options as Record<string, string> | undefined,
            local: f.local as boolean | undefined,
            sealWrap: f.seal_wrap as boolean | undefined,
          });
          core.logger.info({ path: ctx.params.path, type }, 'secrets engine enabled');
          return null;
        },
        delete: async (ctx) => {
          await core.unmountEngine(ctx.params.path);
          core.logger.info({ path: ctx.params.path }, 'secrets engine disabled');
          return null;
        },
      },
    },
    {
      pattern: 'remount',
      fields: {
        from: { type: 'string', description: 'Current mount path.', required: true },
        to: { type: 'string', description: 'New mount path.', required: true },
      },
      operations: {
        update: async (ctx) => {
          const from = normalizeMountPath(ctx.fields.from as string);
          const to = normalizeMountPath(ctx.fields.to as string);
          if (from.startsWith('auth/') || to.startsWith('auth/')) throw new BadRequestError('moving auth methods is not supported yet');
          await core.remountEngine(from, to);
          const id = randomUUID();
          migrations.set(id, { from, to });
          return { data: { migration_id: id } };
        },
      },
    },
    {
      pattern: 'remount/status/(?<id>.+)',
      operations: {
        read: async (ctx) => {
          const migration = migrations.get(ctx.params.id);
          if (!migration) throw new NotFoundError(`no migration with id "${ctx.params.id}"`);
          return {
            data: {
              migration_id: ctx.params.id,
              migration_info: { source_mount: migration.from, target_mount: migration.to, status: 'success' },
            },
          };
        },
      },
    },
    {
      pattern: 'auth/?',
      operations: { read: async () => ({ data: describeTable(core.authTable), mirrorDataAtTopLevel: true }) },
    },
    {
      pattern: 'auth/(?<path>.+?)/tune',
      fields: tuneFields,
      operations: {
        read: async (ctx) => ({ data: tuneInfo(findMount(core.authTable, ctx.params.path), core), mirrorDataAtTopLevel: true }),
        update: async (ctx) => {
          await tune(core, core.authTable, ctx);
          return null;
        },
      },
    },
    {
      pattern: 'auth/(?<path>.+)',
      fields: enableFields,
      operations: {
        read: async (ctx) => ({ data: describeMount(findMount(core.authTable, ctx.params.path)), mirrorDataAtTopLevel: true }),
        update: async (ctx) => {
          const f = ctx.fields;
          const type = (f.type as string | undefined) ?? (f.plugin_name as string | undefined);
          if (!type) throw new BadRequestError('missing "type": name the auth method to enable, for example "approle"');
          await core.enableAuth(ctx.params.path, {
            type,
            description: f.description as string | undefined,
            config: mountConfigInput(f.config),
            options: f.options as Record<string, string> | undefined,
            local: f.local as boolean | undefined,
          });
          core.logger.info({ path: ctx.params.path, type }, 'auth method enabled');
          return null;
        },
        delete: async (ctx) => {
          await core.disableAuth(ctx.params.path);
          core.logger.info({ path: ctx.params.path }, 'auth method disabled');
          return null;
        },
      },
    },
    {
      pattern: 'internal/ui/mounts',
      operations: {
        read: async () => ({ data: { secret: describeTable(core.mountTable), auth: describeTable(core.authTable) } }),
      },
    },
    {
      pattern: 'internal/ui/mounts/(?<path>.+)',
      operations: { read: async (ctx) => ({ data: await uiMount(core, ctx) }) },
    },
  ];
}

function findMount(table: MountTable, path: string): MountEntry {
  const entry = table.get(path);
  if (!entry) throw new BadRequestError(`no mount at "${normalizeMountPath(path)}"`);
  return entry;
}

/** Describes a mount in the shape of Vault's sys/mounts entries. */
function describeMount(entry: MountEntry): Record<string, unknown> {
  return {
    accessor: entry.accessor,
    config: {
      default_lease_ttl: entry.config.defaultLeaseTtl,
      force_no_cache: false,
      max_lease_ttl: entry.config.maxLeaseTtl,
      ...(entry.config.tokenType ? { token_type: entry.config.tokenType } : {}),
    },
    description: entry.description,
    external_entropy_access: false,
    local: entry.local,
    options: Object.keys(entry.options).length > 0 ? entry.options : null,
    plugin_version: '',
    running_plugin_version: '',
    running_sha256: '',
    seal_wrap: entry.sealWrap,
    type: entry.type,
    uuid: entry.uuid,
    deprecation_status: entry.type === 'kv' ? 'supported' : undefined,
  };
}

function describeTable(table: MountTable): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const entry of table.list().sort((a, b) => a.path.localeCompare(b.path))) result[entry.path] = describeMount(entry);
  return result;
}

function tuneInfo(entry: MountEntry, core: Core): Record<string, unknown> {
  return {
    description: entry.description,
    default_lease_ttl: entry.config.defaultLeaseTtl || core.ttl.defaultLeaseTtl,
    max_lease_ttl: entry.config.maxLeaseTtl || core.ttl.maxLeaseTtl,
    force_no_cache: false,
    options: Object.keys(entry.options).length > 0 ? entry.options : null,
    ...(entry.config.tokenType ? { token_type: entry.config.tokenType } : {}),
  };
}

/** Converts the `config` object of an enable request into mount TTLs. */
function mountConfigInput(config: unknown): Partial<MountEntry['config']> {
  if (config === undefined) return {};
  if (!isPlainObject(config)) throw new BadRequestError('invalid "config": expected an object');
  const known = new Set(['default_lease_ttl', 'max_lease_ttl', 'token_type', 'force_no_cache', 'description', 'listing_visibility', 'audit_non_hmac_request_keys', 'audit_non_hmac_response_keys', 'passthrough_request_headers', 'allowed_response_headers']);
  for (const key of Object.keys(config)) {
    if (!known.has(key)) throw new BadRequestError(`unknown field "config.${key}"`);
  }
  return {
    defaultLeaseTtl: ttlSetting(config.default_lease_ttl, 'config.default_lease_ttl'),
    maxLeaseTtl: ttlSetting(config.max_lease_ttl, 'config.max_lease_ttl'),
    tokenType: tokenTypeSetting(config.token_type),
  };
}

/** Parses a TTL setting; "system" and empty mean the server default (0). */
function ttlSetting(value: unknown, name: string): number {
  if (value === undefined || value === null || value === '' || value === 'system') return 0;
  return parseDuration(value, `value for "${name}"`);
}

async function tune(core: Core, table: MountTable, ctx: HandlerContext): Promise<void> {
  const entry = findMount(table, ctx.params.path);
  const f = ctx.fields;
  const config = { ...entry.config };
  if (f.default_lease_ttl !== undefined) config.defaultLeaseTtl = ttlSetting(f.default_lease_ttl, 'default_lease_ttl');
  if (f.max_lease_ttl !== undefined) config.maxLeaseTtl = ttlSetting(f.max_lease_ttl, 'max_lease_ttl');
  if (f.token_type !== undefined) {
    if (table !== core.authTable) throw new BadRequestError('token_type applies only to auth mounts');
    config.tokenType = tokenTypeSetting(f.token_type);
  }
  const effectiveMax = config.maxLeaseTtl || core.ttl.maxLeaseTtl;
  if (config.maxLeaseTtl > core.ttl.maxLeaseTtl) throw new BadRequestError(`max_lease_ttl cannot exceed the server's max_lease_ttl of ${core.ttl.maxLeaseTtl} seconds`);
  if (config.defaultLeaseTtl > 0 && config.defaultLeaseTtl > effectiveMax) throw new BadRequestError('default_lease_ttl cannot be larger than max_lease_ttl');

  const options = { ...entry.options };
  const requested = f.options as Record<string, string> | undefined;
  if (requested) {
    for (const [key, value] of Object.entries(requested)) {
      if (key === 'version' && entry.type === 'kv' && value !== (entry.options.version ?? '1')) {
        throw new BadRequestError('changing the KV version of a mount is not supported yet; mount a new kv-v2 engine and copy the secrets');
      }
      options[key] = value;
    }
  }
  const updated: MountEntry = { ...entry, config, options, description: (f.description as string | undefined) ?? entry.description };
  await table.update(entry.path, updated);
  core.retuneMount(table, updated);
}

/** Describes the mount that serves PATH for sys/internal/ui/mounts/PATH, if the caller may use it. */
async function uiMount(core: Core, ctx: HandlerContext): Promise<Record<string, unknown>> {
  const path = ctx.params.path;
  const isAuth = path.startsWith('auth/');
  const table = isAuth ? core.authTable : core.mountTable;
  const entry = table.match(isAuth ? path.slice(5) : path);
  if (!entry) throw new BadRequestError(`no mount serves "${path}"`);
  const mountPath = (isAuth ? 'auth/' : '') + entry.path;
  const policies = ctx.req.auth?.policies ?? [];
  if (!(await core.canUseMount(policies, mountPath))) throw new PermissionDeniedError();
  return { ...describeMount(entry), path: mountPath };
}
