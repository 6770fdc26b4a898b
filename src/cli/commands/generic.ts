import type { SecretBody } from '../client.js';
import { type Command, type CommandContext, cleanPath, expectArgs } from '../command.js';
import { CliError, EXIT_OK, EXIT_USAGE, UsageError } from '../errors.js';
import { formatColumns, formatJson } from '../format.js';

/** Prints the keys of a list response as a `Keys` table or a JSON array; exits 2 when there are none. */
export function printKeyList(ctx: CommandContext, body: SecretBody | null, shownPath: string): number {
  const keys = body?.data?.keys;
  if (!Array.isArray(keys)) {
    ctx.warn(`No value found at ${shownPath}`);
    return EXIT_USAGE;
  }
  if (ctx.output.format === 'json') {
    ctx.print(formatJson(keys));
  } else {
    ctx.print(formatColumns(['Keys'], keys.map((key) => [String(key)])));
  }
  return EXIT_OK;
}

/** Returns true when a write returned nothing worth a table: no data, auth or wrap info. */
export function isEmptyResponse(body: SecretBody | null): boolean {
  if (body === null) return true;
  const hasData = body.data !== null && body.data !== undefined && Object.keys(body.data).length > 0;
  return !hasData && !body.auth && !body.wrap_info && !(body.warnings && body.warnings.length > 0);
}

const read: Command = {
  path: ['read'],
  synopsis: 'Read data and retrieve secrets',
  usage: 'coffer read [options] PATH [KEY=VALUE ...]',
  description:
    'Reads data at PATH. KEY=VALUE arguments are sent as query parameters, for endpoints that take ' +
    'them on read. Exits with 2 when nothing is stored at PATH.',
  flags: [],
  async run(ctx, args) {
    if (args.length < 1) throw new UsageError('Not enough arguments (expected at least 1, got 0)');
    const path = cleanPath(args[0]);
    const query = await ctx.readKeyValueArgs(args.slice(1));
    const body = await ctx.call(`reading ${path}`, (client) => client.read(path, query));
    if (body === null) {
      ctx.warn(`No value found at ${path}`);
      return EXIT_USAGE;
    }
    return ctx.printSecret(body);
  },
};

const write: Command = {
  path: ['write'],
  synopsis: 'Write data, configuration, and secrets',
  usage: 'coffer write [options] PATH [KEY=VALUE ...]',
  description:
    'Writes data to PATH with PUT. A value of @FILE reads the value from FILE, and a value of - reads ' +
    'it from stdin. Without data the command refuses to write unless -force is given.',
  flags: [
    { name: 'force', kind: 'bool', help: 'Allow the write with no data, for endpoints that need none.' },
    { name: 'f', kind: 'bool', help: 'Short for -force.' },
  ],
  async run(ctx, args) {
    if (args.length < 1) throw new UsageError('Not enough arguments (expected at least 1, got 0)');
    const path = cleanPath(args[0]);
    const data = await ctx.readKeyValueArgs(args.slice(1));
    const force = ctx.flags.bool('force') || ctx.flags.bool('f');
    if (Object.keys(data).length === 0 && !force) {
      throw new UsageError('Must supply data or use -force');
    }
    const body = await ctx.call(`writing data to ${path}`, (client) => client.write(path, data));
    if (isEmptyResponse(body)) {
      ctx.print(`Success! Data written to: ${path}`);
      return EXIT_OK;
    }
    return ctx.printSecret(body as SecretBody);
  },
};

const remove: Command = {
  path: ['delete'],
  synopsis: 'Delete secrets and configuration',
  usage: 'coffer delete [options] PATH [KEY=VALUE ...]',
  description:
    'Deletes the data at PATH. KEY=VALUE arguments are sent as query parameters. The command ' +
    'succeeds whether or not anything was stored there.',
  flags: [],
  async run(ctx, args) {
    if (args.length < 1) throw new UsageError('Not enough arguments (expected at least 1, got 0)');
    const path = cleanPath(args[0]);
    const query = await ctx.readKeyValueArgs(args.slice(1));
    await ctx.call(`deleting ${path}`, (client) => client.delete(path, query));
    ctx.print(`Success! Data deleted (if it existed) at: ${path}`);
    return EXIT_OK;
  },
};

const list: Command = {
  path: ['list'],
  synopsis: 'List data or secrets',
  usage: 'coffer list [options] PATH',
  description:
    'Lists the keys directly under PATH; a key ending in "/" has keys below it. Exits with 2 when ' +
    'there is nothing under PATH.',
  flags: [],
  async run(ctx, args) {
    expectArgs(args, 1, 1);
    const path = cleanPath(args[0]);
    const body = await ctx.call(`listing ${path}`, (client) => client.list(path));
    if (ctx.output.field !== undefined) throw new CliError('-field is not supported by list');
    return printKeyList(ctx, body, path);
  },
};

export const genericCommands: Command[] = [read, write, remove, list];
