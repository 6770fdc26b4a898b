import type { Command } from '../command.js';
import { EXIT_OK, EXIT_USAGE, UsageError } from '../errors.js';
import { dataRows, formatKeyValueTable, formatSection } from '../format.js';
import { MOUNT_FLAG, kvTarget, printPathHeader, requireKvV2 } from './kv.js';
import { kvApiPath } from './kv-paths.js';

const get: Command = {
  path: ['kv', 'metadata', 'get'],
  synopsis: 'Retrieve key metadata',
  usage: 'coffer kv metadata get [options] KEY',
  description:
    'Prints the metadata of the secret at KEY and of each of its versions (KV version 2 only). ' +
    'Exits with 2 when the key does not exist.',
  flags: [MOUNT_FLAG],
  async run(ctx, args) {
    const target = await kvTarget(ctx, args);
    requireKvV2(target, 'Metadata');
    const apiPath = kvApiPath(target, 'metadata');
    const body = await ctx.call(`reading ${apiPath}`, (client) => client.read(apiPath));
    if (body === null) {
      ctx.warn(`No value found at ${apiPath}`);
      return EXIT_USAGE;
    }
    if (ctx.output.field !== undefined || ctx.output.format === 'json') return ctx.printSecret(body);

    const data = body.data ?? {};
    const versions = (data.versions ?? {}) as Record<string, Record<string, unknown>>;
    const rows = dataRows(data).filter(([key]) => key !== 'versions');
    printPathHeader(ctx, target, 'Metadata Path', apiPath);
    ctx.print(formatSection('Metadata', formatKeyValueTable(rows)));

    const numbers = Object.keys(versions).sort((a, b) => Number(a) - Number(b));
    for (const number of numbers) {
      const versionRows = dataRows(versions[number]).map(([key, value]): [string, unknown] => [
        key,
        key === 'deletion_time' && value === '' ? 'n/a' : value,
      ]);
      ctx.print(`\n${formatSection(`Version ${number}`, formatKeyValueTable(versionRows))}`);
    }
    return EXIT_OK;
  },
};

const put: Command = {
  path: ['kv', 'metadata', 'put'],
  synopsis: 'Set or update key settings',
  usage: 'coffer kv metadata put [options] KEY',
  description:
    'Creates or changes the settings of the secret at KEY without writing a version (KV version 2 ' +
    'only). Only the flags given are sent; the server keeps the other settings.',
  flags: [
    MOUNT_FLAG,
    { name: 'max-versions', kind: 'int', help: 'Number of versions to keep; older ones are removed. 0 uses the mount\'s setting.' },
    { name: 'cas-required', kind: 'bool', help: 'Require check-and-set (-cas) on every write to this key.' },
    {
      name: 'delete-version-after',
      kind: 'duration',
      help: 'Delete each version this long after it is written, in seconds or a duration such as "72h". 0s disables it.',
    },
    { name: 'custom-metadata', kind: 'map', help: 'A key=value pair of custom metadata; repeat the flag for more pairs.' },
  ],
  async run(ctx, args) {
    const target = await kvTarget(ctx, args);
    requireKvV2(target, 'Metadata');
    const apiPath = kvApiPath(target, 'metadata');

    const settings: Record<string, unknown> = {};
    if (ctx.flags.has('max-versions')) {
      const maxVersions = ctx.flags.int('max-versions') ?? 0;
      if (maxVersions < 0) throw new UsageError('invalid -max-versions: expected 0 or more');
      settings.max_versions = maxVersions;
    }
    if (ctx.flags.has('cas-required')) settings.cas_required = ctx.flags.bool('cas-required');
    if (ctx.flags.has('delete-version-after')) settings.delete_version_after = ctx.flags.string('delete-version-after');
    if (ctx.flags.has('custom-metadata')) settings.custom_metadata = ctx.flags.map('custom-metadata');

    await ctx.call(`writing data to ${apiPath}`, (client) => client.request('POST', apiPath, { body: settings }));
    ctx.print(`Success! Data written to: ${apiPath}`);
    return EXIT_OK;
  },
};

const remove: Command = {
  path: ['kv', 'metadata', 'delete'],
  synopsis: 'Delete all versions and metadata for a key',
  usage: 'coffer kv metadata delete [options] KEY',
  description: 'Permanently deletes every version of the secret at KEY and its metadata (KV version 2 only).',
  flags: [MOUNT_FLAG],
  async run(ctx, args) {
    const target = await kvTarget(ctx, args);
    requireKvV2(target, 'Metadata');
    const apiPath = kvApiPath(target, 'metadata');
    await ctx.call(`deleting ${apiPath}`, (client) => client.delete(apiPath));
    ctx.print(`Success! Data deleted (if it existed) at: ${apiPath}`);
    return EXIT_OK;
  },
};

export const kvMetadataCommands: Command[] = [get, put, remove];
