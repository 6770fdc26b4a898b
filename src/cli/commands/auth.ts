import { type Command, type CommandContext, expectArgs } from '../command.js';
import { EXIT_OK, UsageError } from '../errors.js';
import type { FlagSpec } from '../flags.js';
import { formatColumns, formatHumanDuration, formatValue } from '../format.js';
import { printMountList, ttlText, withTrailingSlash } from './secrets.js';

/** Token types an auth mount may issue, as Vault names them. */
const TOKEN_TYPES = ['default-service', 'default-batch', 'service', 'batch'];

const MOUNT_FLAGS: FlagSpec[] = [
  { name: 'description', kind: 'string', help: 'Human-readable description of the auth method.' },
  {
    name: 'default-lease-ttl',
    kind: 'duration',
    help: 'Default TTL of tokens this method issues, in seconds or a duration such as "1h". Unset uses the server default.',
  },
  {
    name: 'max-lease-ttl',
    kind: 'duration',
    help: 'Maximum TTL of tokens this method issues, in seconds or a duration such as "24h". Unset uses the server default.',
  },
  {
    name: 'token-type',
    kind: 'string',
    help: 'Type of token the method issues: "default-service", "default-batch", "service" or "batch".',
  },
  { name: 'options', kind: 'map', help: 'A key=value option passed to the auth method; repeat the flag for more options.' },
  {
    name: 'listing-visibility',
    kind: 'string',
    help: 'Not supported: Coffer has no web UI, so there is no login listing to show the method in.',
  },
];

/** Rejects -listing-visibility, which Vault uses only for its web UI, and checks -token-type. */
function checkMountFlags(ctx: CommandContext): void {
  if (ctx.flags.has('listing-visibility')) {
    throw new UsageError('-listing-visibility is not supported: Coffer has no web UI whose login page it would change; remove the flag');
  }
  const tokenType = ctx.flags.string('token-type');
  if (tokenType !== undefined && !TOKEN_TYPES.includes(tokenType)) {
    throw new UsageError(`invalid -token-type ${JSON.stringify(tokenType)}: use one of ${TOKEN_TYPES.join(', ')}`);
  }
}

/** Prints the server's warnings to stderr after a command that otherwise prints only a success line. */
function printWarnings(ctx: CommandContext, warnings: unknown): void {
  if (!Array.isArray(warnings)) return;
  for (const warning of warnings) ctx.warn(`WARNING! ${String(warning)}`);
}

const enable: Command = {
  path: ['auth', 'enable'],
  synopsis: 'Enable an auth method',
  usage: 'coffer auth enable [options] TYPE',
  description:
    'Enables an auth method of TYPE (e.g. "userpass" or "approle") at -path, which defaults to the ' +
    'type name. Its login and configuration endpoints are then under auth/PATH/.',
  flags: [
    { name: 'path', kind: 'string', help: 'Path of the auth method under auth/; the default is the method type.' },
    ...MOUNT_FLAGS,
    { name: 'local', kind: 'bool', help: 'Mark the auth method local so it is not replicated.' },
  ],
  async run(ctx, args) {
    expectArgs(args, 1, 1);
    checkMountFlags(ctx);
    const type = args[0];
    const mountPath = withTrailingSlash(ctx.flags.string('path') ?? type);
    const config: Record<string, string> = {};
    for (const [flag, field] of [
      ['default-lease-ttl', 'default_lease_ttl'],
      ['max-lease-ttl', 'max_lease_ttl'],
      ['token-type', 'token_type'],
    ] as const) {
      const value = ctx.flags.string(flag);
      if (value !== undefined) config[field] = value;
    }
    const request = {
      type,
      description: ctx.flags.string('description') ?? '',
      config,
      options: ctx.flags.map('options'),
      local: ctx.flags.bool('local'),
    };

    const body = await ctx.call(`enabling ${type} auth method at auth/${mountPath}`, (client) =>
      client.request('POST', `sys/auth/${mountPath}`, { body: request }),
    );
    ctx.print(`Success! Enabled ${type} auth method at: ${mountPath}`);
    printWarnings(ctx, body?.warnings);
    return EXIT_OK;
  },
};

const disable: Command = {
  path: ['auth', 'disable'],
  synopsis: 'Disable an auth method',
  usage: 'coffer auth disable [options] PATH',
  description: 'Disables the auth method at PATH and revokes every token it issued.',
  flags: [],
  async run(ctx, args) {
    expectArgs(args, 1, 1);
    const mountPath = withTrailingSlash(args[0]);
    await ctx.call(`disabling auth method at auth/${mountPath}`, (client) => client.delete(`sys/auth/${mountPath}`));
    ctx.print(`Success! Disabled the auth method (if it existed) at: ${mountPath}`);
    return EXIT_OK;
  },
};

const list: Command = {
  path: ['auth', 'list'],
  synopsis: 'List enabled auth methods',
  usage: 'coffer auth list [options]',
  description: 'Lists the enabled auth methods. -detailed adds TTLs, token type, options and identifiers.',
  flags: [{ name: 'detailed', kind: 'bool', help: 'Print more columns: TTLs, token type, replication, seal wrap, options and UUID.' }],
  async run(ctx, args) {
    expectArgs(args, 0, 0);
    const mounts = await printMountList(ctx, 'listing enabled auth methods', 'sys/auth');
    if (!mounts) return EXIT_OK;
    const header = ['Path', 'Plugin', 'Accessor', 'Default TTL', 'Max TTL', 'Token Type', 'Replication', 'Seal Wrap', 'Options', 'Description', 'UUID'];
    const rows = mounts.map(([path, mount]) => {
      const config = (mount.config ?? {}) as Record<string, unknown>;
      return [
        path,
        String(mount.type),
        String(mount.accessor ?? ''),
        ttlText(config.default_lease_ttl),
        ttlText(config.max_lease_ttl),
        String(config.token_type ?? 'default-service'),
        mount.local === true ? 'local' : 'replicated',
        String(mount.seal_wrap ?? false),
        formatValue(mount.options ?? null),
        String(mount.description ?? ''),
        String(mount.uuid ?? ''),
      ];
    });
    ctx.print(formatColumns(header, rows));
    return EXIT_OK;
  },
};

const tune: Command = {
  path: ['auth', 'tune'],
  synopsis: 'Tune an auth method configuration',
  usage: 'coffer auth tune [options] PATH',
  description: 'Changes the settings of the auth method at PATH. Only the flags given are sent.',
  flags: MOUNT_FLAGS,
  async run(ctx, args) {
    expectArgs(args, 1, 1);
    checkMountFlags(ctx);
    const mountPath = withTrailingSlash(args[0]);
    const request: Record<string, unknown> = {};
    for (const [flag, field] of [
      ['description', 'description'],
      ['default-lease-ttl', 'default_lease_ttl'],
      ['max-lease-ttl', 'max_lease_ttl'],
      ['token-type', 'token_type'],
    ] as const) {
      const value = ctx.flags.string(flag);
      if (value !== undefined) request[field] = value;
    }
    if (ctx.flags.has('options')) request.options = ctx.flags.map('options');
    if (Object.keys(request).length === 0) throw new UsageError('Nothing to tune: give at least one flag, such as -max-lease-ttl');

    const body = await ctx.call(`tuning auth method at auth/${mountPath}`, (client) =>
      client.request('POST', `sys/auth/${mountPath}tune`, { body: request }),
    );
    ctx.print(`Success! Tuned the auth method at: ${mountPath}`);
    printWarnings(ctx, body?.warnings);
    return EXIT_OK;
  },
};

export const authCommands: Command[] = [enable, disable, list, tune];
