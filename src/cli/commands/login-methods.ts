import type { CommandContext } from '../command.js';
import { UsageError } from '../errors.js';
import { readAll, readHidden } from '../prompt.js';

/** A login request to send: the path under the method's mount and the JSON body. */
export interface LoginRequest {
  /** Path below `auth/MOUNT/`, e.g. `login/alice`. */
  path: string;
  body: Record<string, unknown>;
}

/** An auth method that `coffer login -method=NAME KEY=VALUE ...` can log in with. */
export interface LoginMethod {
  /** Mount path under `auth/` when -path is not given; Vault's default is the type name. */
  defaultMount: string;
  /** Keys the method accepts as KEY=VALUE arguments, for the usage error on an unknown key. */
  keys: string[];
  /** Builds the login request from the KEY=VALUE arguments; may prompt for a missing secret. */
  buildRequest(ctx: CommandContext, fields: Record<string, string>): Promise<LoginRequest>;
}

const userpass: LoginMethod = {
  defaultMount: 'userpass',
  keys: ['username', 'password'],
  async buildRequest(ctx, fields) {
    const username = fields.username ?? '';
    if (username === '') throw new UsageError('Missing username: pass username=NAME');
    const password = fields.password ?? (await readPassword(ctx));
    if (password === '') throw new UsageError('Missing password: pass password=..., type it at the prompt, or send it on stdin');
    return { path: `login/${encodeURIComponent(username)}`, body: { password } };
  },
};

const approle: LoginMethod = {
  defaultMount: 'approle',
  keys: ['role_id', 'secret_id'],
  async buildRequest(_ctx, fields) {
    const roleId = fields.role_id ?? '';
    if (roleId === '') throw new UsageError('Missing role_id: pass role_id=ROLE_ID (and secret_id=SECRET_ID unless the role does not bind one)');
    const body: Record<string, unknown> = { role_id: roleId };
    if (fields.secret_id !== undefined) body.secret_id = fields.secret_id;
    return { path: 'login', body };
  },
};

/** Login methods other than `token`, by the name given to -method. */
export const LOGIN_METHODS: Record<string, LoginMethod> = { userpass, approle };

/**
 * Reads a password that was not given as an argument: from a prompt without echo when stdin is a
 * terminal, else from stdin, without its final line ending.
 */
async function readPassword(ctx: CommandContext): Promise<string> {
  const stdin = ctx.io.stdin;
  if (stdin.isTTY) return readHidden(stdin, ctx.io.stderr, 'Password (will be hidden): ');
  return (await readAll(stdin)).replace(/\r?\n$/, '');
}

/** Checks that every KEY=VALUE argument is one the method accepts. */
export function checkLoginKeys(methodName: string, method: LoginMethod, fields: Record<string, string>): void {
  for (const key of Object.keys(fields)) {
    if (!method.keys.includes(key)) {
      throw new UsageError(`unknown key "${key}" for -method=${methodName}: use ${method.keys.map((name) => `${name}=...`).join(' ')}`);
    }
  }
}
