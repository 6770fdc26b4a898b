import type { SecretBody } from '../client.js';
import { type Command, type CommandContext, cleanPath, expectArgs } from '../command.js';
import { EXIT_OK, UsageError } from '../errors.js';
import type { FlagSpec } from '../flags.js';
import { compareText, formatColumns, formatHumanDuration, formatJson, formatValue } from '../format.js';

const TTL_FLAGS: FlagSpec[] = [
  {
    name: 'default-lease-ttl',
    kind: 'duration',
    help: 'Default lease TTL of secrets from this engine, in seconds or a duration such as "1h". Unset uses the server default.',
  },
  {
    name: 'max-lease-ttl',
    kind: 'duration',
    help: 'Maximum lease TTL of secrets from this engine, in seconds or a duration such as "24h". Unset uses the server default.',
  },
];

const DESCRIPTION_FLAG: FlagSpec = { name: 'description', kind: 'string', help: 'Human-readable description of the mount.' };

/** Returns the mount table of a `sys/mounts` or `sys/audit` response, which Vault repeats under `data`. */
export function mountTable(body: SecretBody | null): Array<[string, Record<string, unknown>]> {
  const source = (body?.data && typeof body.data === 'object' ? body.data : body ?? {}) as Record<string, unknown>;
  return Object.entries(source)
    .filter((entry): entry is [string, Record<string, unknown>] => {
      const value = entry[1];
      return value !== null && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string';
    })
    .sort(([a], [b]) => compareText(a, b));
}

/**
 * Reads a mount listing and prints it as JSON or as the brief Path/Type/Accessor/Description
 * table. Returns the mounts when the caller should print its detailed table instead.
 */
export async function printMountList(ctx: CommandContext, action: string, apiPath: string): Promise<Array<[string, Record<string, unknown>]> | null> {
  const body = await ctx.call(action, (client) => client.request('GET', apiPath));
  if (ctx.output.format === 'json') {
    ctx.print(formatJson(body?.data ?? body));
    return null;
  }
  const mounts = mountTable(body);
  if (ctx.flags.bool('detailed')) return mounts;
  const rows = mounts.map(([path, mount]) => [path, String(mount.type), String(mount.accessor ?? ''), String(mount.description ?? '')]);
  ctx.print(formatColumns(['Path', 'Type', 'Accessor', 'Description'], rows));
  return null;
}

/** Returns `path` with exactly one trailing slash, as mount paths are shown. */
export function withTrailingSlash(path: string): string {
  return `${cleanPath(path).replace(/\/+$/, '')}/`;
}

export function ttlText(value: unknown): string {
  return typeof value === 'number' && value > 0 ? formatHumanDuration(value) : 'system';
}

const enable: Command = {
  path: ['secrets', 'enable'],
  synopsis: 'Enable a secrets engine',
  usage: 'coffer secrets enable [options] TYPE',
  description:
    'Mounts a secrets engine of TYPE (e.g. "kv", or "kv-v2" for KV version 2) at -path, which ' +
    'defaults to the type name.',
  flags: [
    { name: 'path', kind: 'string', help: 'Mount path of the engine; the default is the engine type.' },
    DESCRIPTION_FLAG,
    ...TTL_FLAGS,
    { name: 'version', kind: 'int', help: 'Engine version, e.g. 2 for KV version 2. Sets the "version" option.' },
    { name: 'options', kind: 'map', help: 'A key=value option passed to the engine; repeat the flag for more options.' },
    { name: 'local', kind: 'bool', help: 'Mark the mount local so it is not replicated.' },
  ],
  async run(ctx, args) {
    expectArgs(args, 1, 1);
    let type = args[0];
    const options: Record<string, string> = { ...ctx.flags.map('options') };
    if (type === 'kv-v2') {
      type = 'kv';
      options.version = '2';
    }
    const version = ctx.flags.int('version');
    if (version !== undefined) options.version = String(version);

    const mountPath = withTrailingSlash(ctx.flags.string('path') ?? type);
    const config: Record<string, string> = {};
    const defaultTtl = ctx.flags.string('default-lease-ttl');
    const maxTtl = ctx.flags.string('max-lease-ttl');
    if (defaultTtl !== undefined) config.default_lease_ttl = defaultTtl;
    if (maxTtl !== undefined) config.max_lease_ttl = maxTtl;

    const request = {
      type,
      description: ctx.flags.string('description') ?? '',
      config,
      options,
      local: ctx.flags.bool('local'),
    };
    await ctx.call(`enabling ${args[0]} secrets engine at ${mountPath}`, (client) => client.request('POST', `sys/mounts/${mountPath}`, { body: request }));
    ctx.print(`Success! Enabled the ${args[0]} secrets engine at: ${mountPath}`);
    return EXIT_OK;
  },
};

const disable: Command = {
  path: ['secrets', 'disable'],
  synopsis: 'Disable a secrets engine',
  usage: 'coffer secrets disable [options] PATH',
  description: 'Unmounts the secrets engine at PATH and deletes all of its data and leases.',
  flags: [],
  async run(ctx, args) {
    expectArgs(args, 1, 1);
    const mountPath = withTrailingSlash(args[0]);
    await ctx.call(`disabling secrets engine at ${mountPath}`, (client) => client.delete(`sys/mounts/${mountPath}`));
    ctx.print(`Success! Disabled the secrets engine (if it existed) at: ${mountPath}`);
    return EXIT_OK;
  },
};

const list: Command = {
  path: ['secrets', 'list'],
  synopsis: 'List enabled secrets engines',
  usage: 'coffer secrets list [options]',
  description: 'Lists the mounted secrets engines. -detailed adds TTLs, options and identifiers.',
  flags: [{ name: 'detailed', kind: 'bool', help: 'Print more columns: TTLs, options, local, seal wrap and UUID.' }],
  async run(ctx, args) {
    expectArgs(args, 0, 0);
    const mounts = await printMountList(ctx, 'listing secrets engines', 'sys/mounts');
    if (!mounts) return EXIT_OK;
    const header = ['Path', 'Type', 'Accessor', 'Default TTL', 'Max TTL', 'Options', 'Local', 'Seal Wrap', 'UUID', 'Description'];
    const rows = mounts.map(([path, mount]) => {
      const config = (mount.config ?? {}) as Record<string, unknown>;
      return [
        path,
        String(mount.type),
        String(mount.accessor ?? ''),
        ttlText(config.default_lease_ttl),
        ttlText(config.max_lease_ttl),
        formatValue(mount.options ?? null),
        String(mount.local ?? false),
        String(mount.seal_wrap ?? false),
        String(mount.uuid ?? ''),
        String(mount.description ?? ''),
      ];
    });
    ctx.print(formatColumns(header, rows));
    return EXIT_OK;
  },
};

const tune: Command = {
  path: ['secrets', 'tune'],
  synopsis: 'Tune a secrets engine configuration',
  usage: 'coffer secrets tune [options] PATH',
  description: 'Changes the settings of the secrets engine mounted at PATH. Only the flags given are sent.',
  flags: [
    DESCRIPTION_FLAG,
    ...TTL_FLAGS,
    { name: 'version', kind: 'int', help: 'Engine version, e.g. 2 to upgrade a KV mount to version 2.' },
    { name: 'options', kind: 'map', help: 'A key=value option passed to the engine; repeat the flag for more options.' },
  ],
  async run(ctx, args) {
    expectArgs(args, 1, 1);
    const mountPath = withTrailingSlash(args[0]);
    const request: Record<string, unknown> = {};
    const options: Record<string, string> = { ...ctx.flags.map('options') };
    const version = ctx.flags.int('version');
    if (version !== undefined) options.version = String(version);
    if (Object.keys(options).length > 0) request.options = options;
    if (ctx.flags.has('description')) request.description = ctx.flags.string('description');
    if (ctx.flags.has('default-lease-ttl')) request.default_lease_ttl = ctx.flags.string('default-lease-ttl');
    if (ctx.flags.has('max-lease-ttl')) request.max_lease_ttl = ctx.flags.string('max-lease-ttl');
    if (Object.keys(request).length === 0) throw new UsageError('Nothing to tune: give at least one flag, such as -max-lease-ttl');

    await ctx.call(`tuning secrets engine at ${mountPath}`, (client) =>
      client.request('POST', `sys/mounts/${mountPath}tune`, { body: request }),
    );
    ctx.print(`Success! Tuned the secrets engine at: ${mountPath}`);
    return EXIT_OK;
  },
};

export const secretsCommands: Command[] = [enable, disable, list, tune];
