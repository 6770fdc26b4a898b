import type { AuthInfo, SecretBody } from '../client.js';
import { type Command, type CommandContext, cleanPath, expectArgs, isWrappedBody } from '../command.js';
import { CliError, EXIT_OK, UsageError } from '../errors.js';
import { formatJson, formatKeyValueTable, authRows, formatFieldValue, selectField } from '../format.js';
import { readAll, readHidden } from '../prompt.js';
import { storeToken, tokenHelperPath } from '../token-helper.js';
import { LOGIN_METHODS, checkLoginKeys } from './login-methods.js';

const login: Command = {
  path: ['login'],
  synopsis: 'Authenticate locally',
  usage: 'coffer login [options] [TOKEN | KEY=VALUE ...]',
  description:
    'Logs in and stores the token in ~/.coffer-token (mode 0600), which later commands use when ' +
    'COFFER_TOKEN and VAULT_TOKEN are unset. With -method=token (the default) the command checks ' +
    'TOKEN against the server (auth/token/lookup-self); without TOKEN it prompts for it without echo ' +
    'on a terminal, and TOKEN "-" reads it from stdin. With -method=userpass pass username=NAME and ' +
    'optionally password=...; a missing password is prompted for without echo on a terminal, or read ' +
    'from stdin otherwise. With -method=approle pass role_id=... and secret_id=.... A value of @FILE ' +
    'reads the value from FILE and - reads it from stdin.',
  flags: [
    { name: 'method', kind: 'string', help: 'Auth method to log in with: "token", "userpass" or "approle".', defaultText: 'token' },
    { name: 'path', kind: 'string', help: 'Path under auth/ where the method is enabled, when not its type name (userpass and approle only).' },
    { name: 'no-store', kind: 'bool', help: 'Print the token, but do not store it in the token helper file.' },
    { name: 'no-print', kind: 'bool', help: 'Print nothing on success; errors are still printed.' },
    { name: 'token-only', kind: 'bool', help: 'Print only the token, followed by one newline, and do not store it. Short for -field=token -no-store.' },
  ],
  async run(ctx, args) {
    const method = ctx.flags.string('method') ?? 'token';
    const body = method === 'token' ? await loginWithToken(ctx, args) : await loginWithMethod(ctx, method, args);
    if (body === null) return EXIT_OK;
    const tokenOnly = ctx.flags.bool('token-only');

    if (!ctx.flags.bool('no-store') && !tokenOnly) {
      try {
        await storeToken(ctx.io.homeDir, body.auth.client_token);
      } catch (err) {
        throw new CliError(`Error storing token in ${tokenHelperPath(ctx.io.homeDir)}: ${(err as Error).message}`);
      }
      if (ctx.io.env.COFFER_TOKEN || ctx.io.env.VAULT_TOKEN) {
        ctx.warn(
          'WARNING! COFFER_TOKEN or VAULT_TOKEN is set, and it takes precedence over the stored token. ' +
            'Unset it to use the token you logged in with.',
        );
      }
    }
    if (tokenOnly) {
      ctx.print(body.auth.client_token);
      return EXIT_OK;
    }
    if (ctx.flags.bool('no-print')) return EXIT_OK;
    return printLogin(ctx, body);
  },
};

/** A login response that carries a token. */
type LoginBody = SecretBody & { auth: AuthInfo };

/** Checks an existing token with lookup-self and returns it in the shape of a login response. */
async function loginWithToken(ctx: CommandContext, args: string[]): Promise<LoginBody> {
  if (ctx.flags.has('path')) throw new UsageError('-path applies only to -method=userpass and -method=approle');
  if (ctx.flags.has('wrap-ttl')) {
    throw new UsageError('-wrap-ttl does not apply to -method=token, which only checks an existing token; wrap a new one with "coffer token create -wrap-ttl"');
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
  return { ...body, auth, data: null };
}

/**
 * Logs in with a userpass or approle mount and returns the response, or prints the wrap info of a
 * wrapped response (with -wrap-ttl) and returns null, because a wrapped token is not stored.
 */
async function loginWithMethod(ctx: CommandContext, methodName: string, args: string[]): Promise<LoginBody | null> {
  const method = LOGIN_METHODS[methodName];
  if (method === undefined) {
    throw new UsageError(`unknown -method ${JSON.stringify(methodName)}: use token, ${Object.keys(LOGIN_METHODS).join(' or ')}`);
  }
  const fields = await ctx.readKeyValueArgs(args);
  checkLoginKeys(methodName, method, fields);
  const mount = cleanPath(ctx.flags.string('path') ?? method.defaultMount).replace(/\/+$/, '');
  if (mount === '') throw new UsageError('invalid -path: give the path of the auth method under auth/, e.g. -path=userpass');
  const request = await method.buildRequest(ctx, fields);

  // Login paths need no token, and a stale COFFER_TOKEN must not make the login fail.
  const body = await ctx.call(
    `logging in with ${methodName} at auth/${mount}`,
    (client) => client.request('POST', `auth/${mount}/${request.path}`, { body: request.body, token: '' }),
    { allowWrapped: true },
  );
  if (isWrappedBody(body)) {
    if (ctx.flags.bool('token-only')) ctx.print(body.wrap_info.token);
    else ctx.printSecret(body);
    return null;
  }
  const auth = body?.auth;
  if (!auth || typeof auth.client_token !== 'string' || auth.client_token === '') {
    throw new CliError(`Error logging in with ${methodName} at auth/${mount}: the response has no token`);
  }
  return { ...body, auth };
}

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
