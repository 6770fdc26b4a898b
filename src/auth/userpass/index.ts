import { randomBytes } from 'node:crypto';
import { BadRequestError } from '../../errors.js';
import type { Backend, BackendContext, BackendFactory, FieldSpec, HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import { readPage } from '../../framework/paging.js';
import { getJson, putJson, type Storage } from '../../storage/storage.js';
import { addressAllowed } from '../../framework/cidr.js';
import { KeyedLock } from '../../framework/keyed-lock.js';
import {
  applyTokenFields,
  authInfoFromSettings,
  defaultTokenSettings,
  tokenFieldSpecs,
  tokenSettingsData,
  type TokenSettings,
} from '../common/token-fields.js';
import { hashPassword, verifyPassword, type PasswordHash } from './password.js';

/** A user as stored under `user/NAME`. */
interface UserEntry {
  password: PasswordHash;
  token: TokenSettings;
}

/** Userpass's deprecated field names of the shared token fields. */
const TOKEN_ALIASES = { ttl: 'token_ttl', max_ttl: 'token_max_ttl', bound_cidrs: 'token_bound_cidrs' } as const;

const PASSWORD_FIELD: FieldSpec = { type: 'string', description: 'Password of the user; required when the user is created.' };

/** The one message for every rejected login, whether the user is unknown or the password wrong. */
const LOGIN_FAILED = 'invalid username or password';

const USERNAME = '(?<username>[^/]+)';
const userKey = (name: string) => `user/${name}`;

/**
 * The userpass auth method: people log in with a username and a password. Passwords are stored
 * as scrypt hashes. Usernames are lower-cased, so `Mary` and `mary` are the same user.
 */
export class UserpassBackend implements Backend {
  readonly paths: PathSpec[];
  readonly unauthenticatedPaths = ['login', 'login/*'];
  private readonly storage: Storage;
  private readonly userLock = new KeyedLock();
  /** Hash checked when the user does not exist, so that an unknown user costs the same time. */
  private readonly dummyHash: Promise<PasswordHash>;

  constructor(private readonly context: BackendContext) {
    this.storage = context.storage;
    this.dummyHash = hashPassword(randomBytes(16).toString('hex'));
    // Never left unhandled: a login awaits it and reports its error.
    this.dummyHash.catch(() => undefined);

    const userExists = async (ctx: HandlerContext) => (await this.getUser(usernameOf(ctx))) !== null;
    this.paths = [
      {
        pattern: `login/${USERNAME}`,
        fields: { password: { type: 'string', description: 'Password of the user.' } },
        operations: { update: (ctx) => this.login(ctx) },
        help: 'Logs in with a username and password and returns a token.',
      },
      {
        pattern: 'users/?',
        operations: { list: (ctx) => this.listUsers(ctx) },
        help: 'Lists the usernames.',
      },
      {
        pattern: `users/${USERNAME}`,
        fields: {
          password: PASSWORD_FIELD,
          password_hash: { type: 'string', description: 'Not supported: Coffer does not accept bcrypt hashes.' },
          ...tokenFieldSpecs(TOKEN_ALIASES),
        },
        existenceCheck: userExists,
        operations: {
          read: (ctx) => this.readUser(ctx),
          update: (ctx) => this.writeUser(ctx),
          delete: (ctx) => this.deleteUser(ctx),
        },
        help: 'Creates, reads, updates and deletes a user.',
      },
      {
        pattern: `users/${USERNAME}/password`,
        fields: { password: { ...PASSWORD_FIELD, required: true } },
        existenceCheck: userExists,
        operations: { update: (ctx) => this.updateExisting(ctx, async (user) => ({ ...user, password: await newPasswordHash(ctx) })) },
        help: 'Changes the password of a user.',
      },
      {
        pattern: `users/${USERNAME}/policies`,
        fields: tokenFieldSpecs(),
        existenceCheck: userExists,
        operations: { update: (ctx) => this.updateExisting(ctx, async (user) => ({ ...user, token: policiesUpdate(user.token, ctx) })) },
        help: 'Changes the token policies of a user.',
      },
    ];
  }

  /**
   * Checks at renewal that the token's user still exists and returns the user's current policies
   * and TTLs.
   */
  async renewAuth(ctx: { internalData: Record<string, unknown>; metadata: Record<string, string> }) {
    const name = String(ctx.internalData.username ?? ctx.metadata.username ?? '');
    const user = name === '' ? null : await this.getUser(name);
    if (user === null) throw new BadRequestError(`cannot renew the token: user "${name}" no longer exists; log in again`);
    return { policies: [...user.token.policies], ttl: user.token.ttl, maxTtl: user.token.maxTtl, period: user.token.period };
  }

  private getUser(name: string): Promise<UserEntry | null> {
    return getJson<UserEntry>(this.storage, userKey(name));
  }

  private async login(ctx: HandlerContext): Promise<LogicalResponse> {
    const password = (ctx.fields.password as string | undefined) ?? '';
    if (password === '') throw new BadRequestError('missing "password"');

    // An invalid name is treated as an unknown user and hashed like any other, so the reply takes as long.
    const name = (ctx.params.username ?? '').toLowerCase();
    const user = validUsername(name) ? await this.getUser(name) : null;
    const matches = await verifyPassword(password, user?.password ?? (await this.dummyHash));
    const addressOk = user !== null && addressAllowed(ctx.req.remoteAddress, user.token.boundCidrs);

    // A rejected address gets the same error as a wrong password, so it cannot test passwords.
    if (user === null || !matches || !addressOk) {
      let reason = 'address outside token_bound_cidrs';
      if (user === null) reason = 'unknown user';
      else if (!matches) reason = 'wrong password';
      this.context.logger.info(
        { mount: this.context.mountPoint, request_id: ctx.req.id, username: name.slice(0, 100), remote_address: ctx.req.remoteAddress, reason },
        'userpass login rejected',
      );
      throw new BadRequestError(LOGIN_FAILED);
    }
    const auth = authInfoFromSettings(user.token, { metadata: { username: name }, displayName: name, internalData: { username: name } });
    return { auth };
  }

  private async listUsers(ctx: HandlerContext): Promise<LogicalResponse | null> {
    const keys = await this.storage.list('user/', readPage(ctx.req));
    return keys.length === 0 ? null : { data: { keys } };
  }

  private async readUser(ctx: HandlerContext): Promise<LogicalResponse | null> {
    const user = await this.getUser(usernameOf(ctx));
    return user === null ? null : { data: tokenSettingsData(user.token) };
  }

  /** Creates or updates a user; every field is checked before anything is stored. */
  private async writeUser(ctx: HandlerContext): Promise<LogicalResponse | null> {
    const name = usernameOf(ctx);
    if (ctx.fields.password_hash !== undefined) {
      throw new BadRequestError('"password_hash" is not supported: send the password in "password"');
    }
    return this.userLock.run(name, async () => {
      const existing = await this.getUser(name);
      const token = applyTokenFields(existing?.token ?? defaultTokenSettings(), ctx.fields, TOKEN_ALIASES);
      const replacePassword = ctx.fields.password !== undefined || existing === null;
      const password = replacePassword ? await newPasswordHash(ctx) : existing.password;
      await putJson(this.storage, userKey(name), { password, token } satisfies UserEntry);

      const maxLeaseTtl = ctx.backend.system.maxLeaseTtl();
      if (token.maxTtl > maxLeaseTtl) {
        return { warnings: [`token_max_ttl is greater than the mount's max TTL of ${maxLeaseTtl} seconds; issued tokens will be capped to it`] };
      }
      return null;
    });
  }

  private async updateExisting(ctx: HandlerContext, change: (user: UserEntry) => Promise<UserEntry>): Promise<null> {
    const name = usernameOf(ctx);
    await this.userLock.run(name, async () => {
      const user = await this.getUser(name);
      if (user === null) throw new BadRequestError(`user "${name}" does not exist`);
      await putJson(this.storage, userKey(name), await change(user));
    });
    return null;
  }

  private async deleteUser(ctx: HandlerContext): Promise<null> {
    const name = usernameOf(ctx);
    await this.userLock.run(name, () => this.storage.delete(userKey(name)));
    return null;
  }
}

async function newPasswordHash(ctx: HandlerContext): Promise<PasswordHash> {
  const password = (ctx.fields.password as string | undefined) ?? '';
  if (password === '') throw new BadRequestError('missing "password": a new user needs a non-empty password');
  return hashPassword(password);
}

function policiesUpdate(current: TokenSettings, ctx: HandlerContext): TokenSettings {
  if (ctx.fields.token_policies === undefined && ctx.fields.policies === undefined) {
    throw new BadRequestError('missing "token_policies"');
  }
  return applyTokenFields(current, { token_policies: ctx.fields.token_policies, policies: ctx.fields.policies });
}

/**
 * Accepts letters, digits, "_", "-", "." and "@"; a name cannot start with "-" or start or end
 * with ".". The "@" allows e-mail addresses as usernames.
 */
function validUsername(name: string): boolean {
  return name.length > 0 && name.length <= 255 && /^[a-z0-9_@.-]+$/.test(name) && !name.startsWith('-') && !name.startsWith('.') && !name.endsWith('.');
}

/** Returns the validated, lower-cased username of the request path. */
function usernameOf(ctx: HandlerContext): string {
  const name = (ctx.params.username ?? '').toLowerCase();
  if (!validUsername(name)) {
    const quoted = JSON.stringify(name.slice(0, 60));
    throw new BadRequestError(
      `invalid username ${quoted}: use up to 255 letters, digits, "_", "-", "." and "@", not starting with "-" or "." nor ending with "."`,
    );
  }
  return name;
}

/** Creates the userpass auth method for one mount. */
export const userpassBackend: BackendFactory = (ctx) => new UserpassBackend(ctx);
