import { type Command, expectArgs } from '../command.js';
import { CliError, EXIT_OK, UsageError } from '../errors.js';
import { formatJson } from '../format.js';

const create: Command = {
  path: ['token', 'create'],
  synopsis: 'Create a new token',
  usage: 'coffer token create [options]',
  description:
    'Creates a token that is a child of the current token, so revoking the current token revokes ' +
    'it too unless -orphan is given. Prints the new token and its accessor.',
  flags: [
    { name: 'policy', kind: 'list', help: 'Policy to attach; repeat the flag or separate names with commas. The default is the policies of the current token.' },
    { name: 'ttl', kind: 'duration', help: 'Initial TTL, in seconds or a duration such as "1h". Unset uses the mount default.' },
    { name: 'explicit-max-ttl', kind: 'duration', help: 'Hard limit on the token\'s lifetime that renewals cannot pass, in seconds or a duration such as "24h".' },
    { name: 'period', kind: 'duration', help: 'Make a periodic token: each renewal resets its TTL to this, in seconds or a duration such as "24h".' },
    { name: 'orphan', kind: 'bool', help: 'Create the token without a parent, so it outlives the current token.' },
    { name: 'no-default-policy', kind: 'bool', help: 'Leave out the "default" policy.' },
    { name: 'display-name', kind: 'string', help: 'Name shown for the token in audit logs and lookups.' },
    { name: 'metadata', kind: 'map', help: 'A key=value pair of metadata; repeat the flag for more pairs.' },
    { name: 'use-limit', kind: 'int', help: 'Number of requests the token may make before it is revoked; 0 means no limit.' },
    { name: 'renewable', kind: 'bool', help: 'Allow the token to be renewed up to its maximum TTL.', defaultText: 'true' },
    { name: 'id', kind: 'string', help: 'Value to use as the token, instead of a generated one (root tokens only).' },
    {
      name: 'role',
      kind: 'string',
      help: 'Token role to create the token against (auth/token/create/ROLE); the role limits its policies and sets its defaults.',
    },
    {
      name: 'type',
      kind: 'string',
      help: 'Token type: "service" (stored, renewable, can have children) or "batch" (self-contained, not renewable). Unset uses the role\'s or the server\'s default.',
    },
  ],
  async run(ctx, args) {
    expectArgs(args, 0, 0);
    const useLimit = ctx.flags.int('use-limit');
    if (useLimit !== undefined && useLimit < 0) throw new UsageError('invalid -use-limit: expected 0 or more');

    const tokenType = ctx.flags.string('type');
    if (tokenType !== undefined && tokenType !== 'service' && tokenType !== 'batch') {
      throw new UsageError(`invalid -type ${JSON.stringify(tokenType)}: use "service" or "batch"`);
    }
    const role = ctx.flags.string('role');
    if (role !== undefined && !/^[\w.-]+$/.test(role)) {
      throw new UsageError(`invalid -role ${JSON.stringify(role)}: a role name has letters, digits, "_", "-" and "." only`);
    }

    const request: Record<string, unknown> = {
      no_parent: ctx.flags.bool('orphan'),
      no_default_policy: ctx.flags.bool('no-default-policy'),
      renewable: ctx.flags.has('renewable') ? ctx.flags.bool('renewable') : true,
    };
    const policies = ctx.flags.list('policy');
    if (policies.length > 0) request.policies = policies;
    for (const [flag, field] of [
      ['ttl', 'ttl'],
      ['explicit-max-ttl', 'explicit_max_ttl'],
      ['period', 'period'],
      ['display-name', 'display_name'],
      ['id', 'id'],
    ] as const) {
      const value = ctx.flags.string(flag);
      if (value !== undefined) request[field] = value;
    }
    if (ctx.flags.has('metadata')) request.meta = ctx.flags.map('metadata');
    if (useLimit !== undefined) request.num_uses = useLimit;
    if (tokenType !== undefined) request.type = tokenType;

    const endpoint = role === undefined ? 'auth/token/create' : `auth/token/create/${role}`;
    const body = await ctx.call('creating token', (client) => client.request('POST', endpoint, { body: request }));
    if (body === null) throw new CliError('Error creating token: the server returned an empty response');
    return ctx.printSecret(body);
  },
};

const lookup: Command = {
  path: ['token', 'lookup'],
  synopsis: 'Display information about a token',
  usage: 'coffer token lookup [options] [TOKEN | ACCESSOR]',
  description:
    'Prints the properties of TOKEN, or of the current token when TOKEN is omitted. With ' +
    '-accessor the argument is a token accessor.',
  flags: [{ name: 'accessor', kind: 'bool', help: 'Treat the argument as a token accessor instead of a token.' }],
  async run(ctx, args) {
    expectArgs(args, 0, 1);
    const byAccessor = ctx.flags.bool('accessor');
    if (byAccessor && args.length === 0) throw new UsageError('-accessor needs an accessor argument');

    const body = await ctx.call('looking up token', (client) => {
      if (byAccessor) return client.request('POST', 'auth/token/lookup-accessor', { body: { accessor: args[0] } });
      if (args.length === 1) return client.request('POST', 'auth/token/lookup', { body: { token: args[0] } });
      return client.request('GET', 'auth/token/lookup-self');
    });
    if (body === null) throw new CliError('Error looking up token: the server returned an empty response');
    return ctx.printSecret(body);
  },
};

const renew: Command = {
  path: ['token', 'renew'],
  synopsis: 'Renew a token lease',
  usage: 'coffer token renew [options] [TOKEN]',
  description:
    'Extends the TTL of TOKEN, or of the current token when TOKEN is omitted. The server may grant ' +
    'less than requested, up to the token\'s maximum TTL.',
  flags: [
    {
      name: 'increment',
      kind: 'duration',
      help: 'TTL to request from now, in seconds or a duration such as "1h". Unset requests the token\'s default TTL.',
    },
  ],
  async run(ctx, args) {
    expectArgs(args, 0, 1);
    const request: Record<string, unknown> = {};
    const increment = ctx.flags.string('increment');
    if (increment !== undefined) request.increment = increment;

    const body = await ctx.call('renewing token', (client) => {
      if (args.length === 1) return client.request('POST', 'auth/token/renew', { body: { ...request, token: args[0] } });
      return client.request('POST', 'auth/token/renew-self', { body: request });
    });
    if (body === null) throw new CliError('Error renewing token: the server returned an empty response');
    return ctx.printSecret(body);
  },
};

const revoke: Command = {
  path: ['token', 'revoke'],
  synopsis: 'Revoke a token and its children',
  usage: 'coffer token revoke [options] [TOKEN | ACCESSOR]',
  description:
    'Revokes TOKEN and, unless -mode=orphan is given, every token created from it. With -self ' +
    'the current token is revoked; with -accessor the argument is a token accessor.',
  flags: [
    { name: 'accessor', kind: 'bool', help: 'Treat the argument as a token accessor instead of a token.' },
    { name: 'self', kind: 'bool', help: 'Revoke the current token; takes no argument.' },
    { name: 'mode', kind: 'string', help: 'Set to "orphan" to revoke only the token and leave its children as orphans.' },
  ],
  async run(ctx, args) {
    const self = ctx.flags.bool('self');
    const accessor = ctx.flags.bool('accessor');
    const mode = ctx.flags.string('mode') ?? '';
    if (mode !== '' && mode !== 'orphan' && mode !== 'path') {
      throw new UsageError(`invalid -mode ${JSON.stringify(mode)}: use "orphan"`);
    }
    if (mode === 'path') throw new CliError('-mode=path is not available yet; revoke tokens one by one');
    if (self && (accessor || mode !== '')) throw new UsageError('-self cannot be combined with -accessor or -mode');
    if (accessor && mode === 'orphan') throw new UsageError('-accessor cannot be combined with -mode=orphan');
    if (self) expectArgs(args, 0, 0);
    else expectArgs(args, 1, 1);

    await ctx.call('revoking token', (client) => {
      if (self) return client.request('POST', 'auth/token/revoke-self');
      if (accessor) return client.request('POST', 'auth/token/revoke-accessor', { body: { accessor: args[0] } });
      const endpoint = mode === 'orphan' ? 'auth/token/revoke-orphan' : 'auth/token/revoke';
      return client.request('POST', endpoint, { body: { token: args[0] } });
    });
    ctx.print('Success! Revoked token (if it existed)');
    return EXIT_OK;
  },
};

const capabilities: Command = {
  path: ['token', 'capabilities'],
  synopsis: 'Print capabilities of a token on a path',
  usage: 'coffer token capabilities [options] [TOKEN] PATH',
  description:
    'Prints the capabilities that TOKEN, or the current token when TOKEN is omitted, has on PATH, ' +
    'e.g. "create, read". "deny" means no access.',
  flags: [],
  async run(ctx, args) {
    expectArgs(args, 1, 2);
    const path = args[args.length - 1];
    const body = await ctx.call(`listing capabilities of token on ${path}`, (client) => {
      if (args.length === 2) return client.request('POST', 'sys/capabilities', { body: { token: args[0], paths: [path] } });
      return client.request('POST', 'sys/capabilities-self', { body: { paths: [path] } });
    });

    // The capabilities appear under the path, under `capabilities`, and again under `data`.
    const source = (body?.data ?? body ?? {}) as Record<string, unknown>;
    const found = source[path] ?? source.capabilities ?? [];
    const list = (Array.isArray(found) ? found.map(String) : []).sort();
    if (ctx.output.format === 'json') ctx.print(formatJson(list));
    else ctx.print(list.join(', '));
    return EXIT_OK;
  },
};

export const tokenCommands: Command[] = [create, lookup, renew, revoke, capabilities];
