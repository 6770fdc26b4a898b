import { type Command, expectArgs } from '../command.js';
import { EXIT_OK, EXIT_USAGE, UsageError } from '../errors.js';
import { splitKeyValue } from '../flags.js';
import { formatColumns, formatJson, formatValue } from '../format.js';
import { mountTable, withTrailingSlash } from './secrets.js';

const enable: Command = {
  path: ['audit', 'enable'],
  synopsis: 'Enable an audit device',
  usage: 'coffer audit enable [options] TYPE [KEY=VALUE ...]',
  description:
    'Enables an audit device of TYPE (e.g. "file") at -path, which defaults to the type name. ' +
    'KEY=VALUE arguments are the device options, e.g. file_path=/var/log/coffer-audit.log.',
  flags: [
    { name: 'path', kind: 'string', help: 'Path of the audit device; the default is the device type.' },
    { name: 'description', kind: 'string', help: 'Human-readable description of the audit device.' },
    { name: 'local', kind: 'bool', help: 'Mark the device local so it is not replicated.' },
  ],
  async run(ctx, args) {
    if (args.length < 1) throw new UsageError('Not enough arguments (expected at least 1, got 0)');
    const type = args[0];
    const options: Record<string, string> = {};
    for (const arg of args.slice(1)) {
      const [key, value] = splitKeyValue(arg, 'option');
      options[key] = value;
    }
    const devicePath = withTrailingSlash(ctx.flags.string('path') ?? type);
    const request = { type, description: ctx.flags.string('description') ?? '', options, local: ctx.flags.bool('local') };

    await ctx.call(`enabling ${type} audit device at ${devicePath}`, (client) =>
      client.write(`sys/audit/${devicePath}`, request),
    );
    ctx.print(`Success! Enabled the ${type} audit device at: ${devicePath}`);
    return EXIT_OK;
  },
};

const list: Command = {
  path: ['audit', 'list'],
  synopsis: 'List enabled audit devices',
  usage: 'coffer audit list [options]',
  description: 'Lists the enabled audit devices. Exits with 2 when none is enabled, as Vault\'s CLI does.',
  flags: [{ name: 'detailed', kind: 'bool', help: 'Print more columns: replication and options.' }],
  async run(ctx, args) {
    expectArgs(args, 0, 0);
    const body = await ctx.call('listing audit devices', (client) => client.request('GET', 'sys/audit'));
    if (ctx.output.format === 'json') {
      ctx.print(formatJson(body?.data ?? body));
      return EXIT_OK;
    }
    const devices = mountTable(body);
    if (devices.length === 0) {
      ctx.print('No audit devices are enabled.');
      return EXIT_USAGE;
    }
    if (!ctx.flags.bool('detailed')) {
      const rows = devices.map(([path, device]) => [path, String(device.type), String(device.description ?? '')]);
      ctx.print(formatColumns(['Path', 'Type', 'Description'], rows));
      return EXIT_OK;
    }
    const rows = devices.map(([path, device]) => [
      path,
      String(device.type),
      String(device.description ?? ''),
      device.local === true ? 'local' : 'replicated',
      formatValue(device.options ?? null),
    ]);
    ctx.print(formatColumns(['Path', 'Type', 'Description', 'Replication', 'Options'], rows));
    return EXIT_OK;
  },
};

const disable: Command = {
  path: ['audit', 'disable'],
  synopsis: 'Disable an audit device',
  usage: 'coffer audit disable [options] PATH',
  description: 'Disables the audit device at PATH. Entries already written stay in its log.',
  flags: [],
  async run(ctx, args) {
    expectArgs(args, 1, 1);
    const devicePath = withTrailingSlash(args[0]);
    await ctx.call(`disabling audit device at ${devicePath}`, (client) => client.delete(`sys/audit/${devicePath}`));
    ctx.print(`Success! Disabled audit device (if it was enabled) at: ${devicePath}`);
    return EXIT_OK;
  },
};

export const auditCommands: Command[] = [enable, list, disable];
