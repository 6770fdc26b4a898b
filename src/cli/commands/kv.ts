import { ApiError, type SecretBody } from '../client.js';
import { type Command, type CommandContext, expectArgs } from '../command.js';
import { CliError, EXIT_OK, EXIT_USAGE, UsageError } from '../errors.js';
import type { FlagSpec } from '../flags.js';
import { dataRows, formatJson, formatKeyValueTable, formatSection, leaseRows } from '../format.js';
import { printKeyList } from './generic.js';
import { type KvTarget, kvApiPath, resolveKvTarget } from './kv-paths.js';

/** The `-mount` flag every `kv` command accepts. */
export const MOUNT_FLAG: FlagSpec = {
  name: 'mount',
  kind: 'string',
  help:
    'Path where the KV engine is mounted, e.g. "secret". With it, KEY is the secret path inside ' +
    'the mount; without it, KEY starts with the mount path.',
};

const VERSIONS_FLAG: FlagSpec = {
  name: 'versions',
  kind: 'list',
  help: 'Version numbers to act on, comma-separated or repeated, e.g. -versions=1,2.',
};

/** Resolves the target of a `kv` command from its single KEY argument and `-mount`. */
export async function kvTarget(ctx: CommandContext, args: string[], min = 1, max = 1): Promise<KvTarget> {
  expectArgs(args, min, max);
  return ctx.call(`checking the KV version of ${args[0]}`, (client) =>
    resolveKvTarget(client, args[0], ctx.flags.string('mount')),
  );
}

/** Throws CliError unless the target is a KV version 2 mount; `feature` is e.g. "Undelete". */
export function requireKvV2(target: KvTarget, feature: string): void {
  if (target.mount.version !== 2) {
    throw new CliError(`${feature} not supported on KV Version 1 (the mount of ${target.fullPath})`);
  }
}

/** Prints the `Secret Path` header that Vault's CLI shows when -mount is used. */
export function printPathHeader(ctx: CommandContext, target: KvTarget, title: string, apiPath: string): void {
  if (!target.mountFlagUsed || ctx.output.format !== 'table' || ctx.output.field !== undefined) return;
  ctx.print(formatSection(title, apiPath));
  ctx.print('');
}

/** Parses `-versions` into whole numbers; throws UsageError when it is empty and `required`. */
export function parseVersions(ctx: CommandContext, required: boolean): number[] {
  const raw = ctx.flags.list('versions');
  if (raw.length === 0 && required) throw new UsageError('No versions provided, use the "-versions" flag');
  return raw.map((item) => {
    if (!/^\d+$/.test(item)) throw new UsageError(`invalid version ${JSON.stringify(item)} in -versions: expected a whole number`);
    return Number(item);
  });
}

/** Formats a KV v2 version's metadata with an empty deletion time shown as `n/a`, as Vault does. */
function metadataRows(metadata: Record<string, unknown>): Array<[string, unknown]> {
  return dataRows(metadata).map(([key, value]) => [key, key === 'deletion_time' && value === '' ? 'n/a' : value]);
}

/** Prints a write's version metadata (the response of `kv put` and `kv patch` on v2). */
function printWriteMetadata(ctx: CommandContext, target: KvTarget, apiPath: string, body: SecretBody | null): number {
  if (body === null) {
    ctx.print(`Success! Data written to: ${apiPath}`);
    return EXIT_OK;
  }
  if (ctx.output.field !== undefined || ctx.output.format === 'json') return ctx.printSecret(body);
  printPathHeader(ctx, target, 'Secret Path', apiPath);
  ctx.print(formatSection('Metadata', formatKeyValueTable(metadataRows(body.data ?? {}))));
  return EXIT_OK;
}

const get: Command = {
  path: ['kv', 'get'],
  synopsis: 'Retrieve data',
  usage: 'coffer kv get [options] KEY',
  description:
    'Reads the secret at KEY. On a KV version 2 mount it prints the version metadata and the data; ' +
    'on version 1 the data only. Exits with 2 when nothing is stored at KEY.',
  flags: [MOUNT_FLAG, { name: 'version', kind: 'int', help: 'Version number to read (KV version 2). The default is the latest version.' }],
  async run(ctx, args) {
    const target = await kvTarget(ctx, args);
    const apiPath = kvApiPath(target, 'data');
    const version = ctx.flags.int('version');
    const query: Record<string, string> = {};
    if (version !== undefined && target.mount.version === 2) query.version = String(version);

    const body = await ctx.call(`reading ${apiPath}`, async (client) => {
      try {
        return await client.request('GET', apiPath, { query });
      } catch (err) {
        // The response for a deleted or destroyed version is a 404 that still carries its metadata.
        if (err instanceof ApiError && err.status === 404) return err.body?.data ? err.body : null;
        throw err;
      }
    });
    if (body === null) {
      ctx.warn(`No value found at ${apiPath}`);
      return EXIT_USAGE;
    }
    return target.mount.version === 2 ? printKvV2Secret(ctx, target, apiPath, body) : printKvV1Secret(ctx, target, apiPath, body);
  },
};

function printKvV1Secret(ctx: CommandContext, target: KvTarget, apiPath: string, body: SecretBody): number {
  if (ctx.output.field !== undefined || ctx.output.format === 'json') return ctx.printSecret(body);
  printPathHeader(ctx, target, 'Secret Path', apiPath);
  ctx.print(formatSection('Data', formatKeyValueTable([...leaseRows(body), ...dataRows(body.data)])));
  return EXIT_OK;
}

function printKvV2Secret(ctx: CommandContext, target: KvTarget, apiPath: string, body: SecretBody): number {
  const inner = (body.data?.data ?? null) as Record<string, unknown> | null;
  const metadata = (body.data?.metadata ?? {}) as Record<string, unknown>;
  if (ctx.output.field !== undefined) {
    if (inner === null) return noDataForVersion(ctx, apiPath, metadata);
    return ctx.printSecret(body, inner);
  }
  if (ctx.output.format === 'json') {
    ctx.print(formatJson(body));
    return inner === null ? EXIT_USAGE : EXIT_OK;
  }

  printPathHeader(ctx, target, 'Secret Path', apiPath);
  ctx.print(`${formatSection('Metadata', formatKeyValueTable(metadataRows(metadata)))}`);
  if (inner === null) return noDataForVersion(ctx, apiPath, metadata);
  ctx.print(`\n${formatSection('Data', formatKeyValueTable(dataRows(inner)))}`);
  for (const warning of body.warnings ?? []) ctx.warn(`WARNING! ${warning}`);
  return EXIT_OK;
}

function noDataForVersion(ctx: CommandContext, apiPath: string, metadata: Record<string, unknown>): number {
  const state = metadata.destroyed === true ? 'destroyed' : 'deleted';
  ctx.warn(`No data at ${apiPath}: version ${String(metadata.version ?? '?')} was ${state}. Use "coffer kv undelete" to restore a deleted version.`);
  return EXIT_USAGE;
}

const put: Command = {
  path: ['kv', 'put'],
  synopsis: 'Set or update secrets',
  usage: 'coffer kv put [options] KEY [DATA_KEY=VALUE ...]',
  description:
    'Writes a new version of the secret at KEY, replacing all of its data. A value of @FILE reads ' +
    'the value from FILE and - reads it from stdin. On KV version 2 each write adds a version.',
  flags: [
    MOUNT_FLAG,
    {
      name: 'cas',
      kind: 'int',
      help: 'Check-and-set (KV version 2): write only if the current version equals this number; 0 writes only if the key does not exist.',
    },
  ],
  async run(ctx, args) {
    if (args.length === 1) throw new UsageError('Must supply data');
    const target = await kvTarget(ctx, args, 2, Infinity);
    const data = await ctx.readKeyValueArgs(args.slice(1));
    const apiPath = kvApiPath(target, 'data');

    if (target.mount.version === 1) {
      await ctx.call(`writing data to ${apiPath}`, (client) => client.write(apiPath, data));
      ctx.print(`Success! Data written to: ${apiPath}`);
      return EXIT_OK;
    }
    const cas = ctx.flags.int('cas');
    const request = { data, options: cas === undefined ? {} : { cas } };
    const body = await ctx.call(`writing data to ${apiPath}`, (client) =>
      client.request('POST', apiPath, { body: request }),
    );
    return printWriteMetadata(ctx, target, apiPath, body);
  },
};

const patch: Command = {
  path: ['kv', 'patch'],
  synopsis: 'Set or update secrets',
  usage: 'coffer kv patch [options] KEY [DATA_KEY=VALUE ...]',
  description:
    'Adds or changes keys of the latest version of the secret at KEY, keeping the other keys (KV ' +
    'version 2 only). The default method sends an HTTP PATCH; when the server does not support it, ' +
    'or with -method=rw, the command reads the secret, merges, and writes it back with check-and-set.',
  flags: [
    MOUNT_FLAG,
    { name: 'cas', kind: 'int', help: 'Check-and-set: patch only if the current version equals this number.' },
    { name: 'method', kind: 'string', help: 'How to patch: "patch" (HTTP PATCH) or "rw" (read, merge, write).', defaultText: 'patch' },
    { name: 'remove-data', kind: 'list', help: 'Keys to remove from the secret, comma-separated or repeated.' },
  ],
  async run(ctx, args) {
    const removed = ctx.flags.list('remove-data');
    if (args.length === 1 && removed.length === 0) throw new UsageError('Must supply data');
    const target = await kvTarget(ctx, args, 1, Infinity);
    requireKvV2(target, 'Patch');
    const method = ctx.flags.string('method') ?? 'patch';
    if (method !== 'patch' && method !== 'rw') throw new UsageError(`invalid -method ${JSON.stringify(method)}: use "patch" or "rw"`);

    const changes: Record<string, unknown> = await ctx.readKeyValueArgs(args.slice(1));
    for (const key of removed) changes[key] = null;
    const apiPath = kvApiPath(target, 'data');
    const cas = ctx.flags.int('cas');

    const body = await ctx.call(`patching ${apiPath}`, async (client) => {
      if (method === 'patch') {
        try {
          return await client.request('PATCH', apiPath, {
            body: { data: changes, options: cas === undefined ? {} : { cas } },
            contentType: 'application/merge-patch+json',
          });
        } catch (err) {
          if (!(err instanceof ApiError && err.status === 405)) throw err;
        }
      }
      // Only the final write takes -wrap-ttl; a wrapped read would hide the data to merge.
      const current = await client.read(apiPath, undefined, { wrap: false });
      const currentData = current?.data?.data as Record<string, unknown> | undefined;
      if (!currentData) throw new CliError(`No value found at ${apiPath}`, EXIT_USAGE);
      const version = Number((current?.data?.metadata as Record<string, unknown> | undefined)?.version ?? 0);
      const merged = { ...currentData, ...changes };
      for (const key of Object.keys(merged)) if (merged[key] === null) delete merged[key];
      return client.request('POST', apiPath, { body: { data: merged, options: { cas: cas ?? version } } });
    });
    return printWriteMetadata(ctx, target, apiPath, body);
  },
};

const remove: Command = {
  path: ['kv', 'delete'],
  synopsis: 'Delete versions of secrets',
  usage: 'coffer kv delete [options] KEY',
  description:
    'Deletes the secret at KEY. On KV version 2 this is a soft delete of the latest version, or of ' +
    'the versions named by -versions; "coffer kv undelete" restores them.',
  flags: [MOUNT_FLAG, VERSIONS_FLAG],
  async run(ctx, args) {
    const target = await kvTarget(ctx, args);
    const versions = parseVersions(ctx, false);
    if (target.mount.version === 2 && versions.length > 0) {
      const apiPath = kvApiPath(target, 'delete');
      await ctx.call(`deleting ${apiPath}`, (client) => client.request('POST', apiPath, { body: { versions } }));
      ctx.print(`Success! Data deleted (if it existed) at: ${apiPath}`);
      return EXIT_OK;
    }
    const apiPath = kvApiPath(target, 'data');
    await ctx.call(`deleting ${apiPath}`, (client) => client.delete(apiPath));
    ctx.print(`Success! Data deleted (if it existed) at: ${apiPath}`);
    return EXIT_OK;
  },
};

/** Builds `kv undelete` or `kv destroy`, which differ in endpoint, method and wording. */
function versionCommand(verb: 'undelete' | 'destroy', method: string, synopsis: string, description: string): Command {
  return {
    path: ['kv', verb],
    synopsis,
    usage: `coffer kv ${verb} [options] -versions=N[,N...] KEY`,
    description,
    flags: [MOUNT_FLAG, VERSIONS_FLAG],
    async run(ctx, args) {
      const versions = parseVersions(ctx, true);
      const target = await kvTarget(ctx, args);
      requireKvV2(target, verb === 'undelete' ? 'Undelete' : 'Destroy');
      const apiPath = kvApiPath(target, verb);
      await ctx.call(`writing data to ${apiPath}`, (client) => client.request(method, apiPath, { body: { versions } }));
      ctx.print(`Success! Data written to: ${apiPath}`);
      return EXIT_OK;
    },
  };
}

const list: Command = {
  path: ['kv', 'list'],
  synopsis: 'List data or secrets',
  usage: 'coffer kv list [options] PATH',
  description: 'Lists the keys under PATH; a key ending in "/" has keys below it. Exits with 2 when there are none.',
  flags: [MOUNT_FLAG],
  async run(ctx, args) {
    const target = await kvTarget(ctx, args);
    const apiPath = kvApiPath(target, 'metadata');
    const body = await ctx.call(`listing ${apiPath}`, (client) => client.list(apiPath));
    return printKeyList(ctx, body, apiPath);
  },
};

export const kvCommands: Command[] = [
  get,
  put,
  patch,
  remove,
  versionCommand(
    'undelete',
    'POST',
    'Undelete versions of secrets',
    'Restores versions of the secret at KEY that "coffer kv delete" removed (KV version 2 only).',
  ),
  versionCommand(
    'destroy',
    'PUT',
    'Permanently destroy versions of secrets',
    'Permanently removes the data of versions of the secret at KEY; they cannot be restored (KV version 2 only).',
  ),
  list,
];
