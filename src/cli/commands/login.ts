import type { AuthInfo } from '../client.js';
import { type Command, type CommandContext, expectArgs } from '../command.js';
import { CliError, EXIT_OK, UsageError } from '../errors.js';
import { formatJson, formatKeyValueTable, authRows, formatFieldValue, selectField } from '../format.js';
import { readAll, readHidden } from '../prompt.js';
import { storeToken, tokenHelperPath } from '../token-helper.js';

const login: Command = {
  path: ['login'],
  synopsis: 'Authenticate locally',
  usage: 'coffer login [options] [TOKEN]',
  description:
    'Checks TOKEN against the server (auth/token/lookup-self) and stores it in ~/.coffer-token ' +
    '(mode 0600), which later commands use when COFFER_TOKEN and VAULT_TOKEN are unset. Without ' +
    'TOKEN the command prompts for it without echo on a terminal; TOKEN "-" reads it from stdin. ' +
    'Only the token method is available.',
  flags: [
    { name: 'method', kind: 'string', help: 'Auth method to log in with. Only "token" is available.', defaultText: 'token' },
    { name: 'no-store', kind: 'bool', help: 'Check the token and print it, but do not store it in the token helper file.' },
    { name: 'no-print', kind: 'bool', help: 'Print nothing on success; errors are still printed.' },
  ],
  async run(ctx, args) {
    const method = ctx.flags.string('method') ?? 'token';
    if (method !== 'token') {
      throw new CliError(`Error: the "${method}" auth method is not available yet; use -method=token with an existing token`);
    }
    expectArgs(args, 0, 1);
    const token = (await readToken(ctx, args[0])).trim();
    if (token === '') throw new UsageError('No token given: pass it as an argument or on stdin');

    const body = await ctx.call('authenticating', (client) =>
      client.request('GET', 'auth/token/lookup-self', { token }),
    );
    const data = (body?.data ?? {}) as Record<string, unknown>;
    const auth: AuthInfo = {
      client_token: token,
      accessor: typeof data.accessor === 'string' ? data.accessor : '',
      policies: asStrings(data.policies),
      token_policies: asStrings(data.policies),
      identity_policies: asStrings(data.identity_policies),
      metadata: (data.meta ?? null) as Record<string, string> | null,
      lease_duration: typeof data.ttl === 'number' ? data.ttl : 0,
      renewable: data.renewable === true,
    };

    if (!ctx.flags.bool('no-store')) {
      try {
        await storeToken(ctx.io.homeDir, token);
      } catch (err) {
        throw new CliError(`Error storing token in ${tokenHelperPath(ctx.io.homeDir)}: ${(err as Error).message}`);
      }
    }
    if (ctx.io.env.COFFER_TOKEN || ctx.io.env.VAULT_TOKEN) {
      ctx.warn(
        'WARNING! COFFER_TOKEN or VAULT_TOKEN is set, and it takes precedence over the stored token. ' +
          'Unset it to use the token you logged in with.',
      );
    }
    if (ctx.flags.bool('no-print')) return EXIT_OK;
    return printLogin(ctx, { ...body, auth, data: null });
  },
};

function printLogin(ctx: CommandContext, body: { auth: AuthInfo; [key: string]: unknown }): number {
  if (ctx.output.field !== undefined) {
    ctx.print(formatFieldValue(selectField(body, ctx.output.field), ctx.output.format));
    return EXIT_OK;
  }
  if (ctx.output.format === 'json') {
    ctx.print(formatJson(body));
    return EXIT_OK;
  }
  const stored = ctx.flags.bool('no-store')
    ? 'The token was not stored (-no-store), so pass it in COFFER_TOKEN to use it.'
    : `The token is stored in ${tokenHelperPath(ctx.io.homeDir)}; later commands use it, so you do not need to log in again.`;
  ctx.print(`Success! You are now authenticated. ${stored}\n\n${formatKeyValueTable(authRows(body.auth))}`);
  return EXIT_OK;
}

function asStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

function readToken(ctx: CommandContext, arg: string | undefined): Promise<string> {
  if (arg !== undefined && arg !== '-') return Promise.resolve(arg);
  const stdin = ctx.io.stdin;
  if (arg === undefined && stdin.isTTY) return readHidden(stdin, ctx.io.stderr, 'Token (will be hidden): ');
  return readAll(stdin);
}

export const loginCommands: Command[] = [login];
