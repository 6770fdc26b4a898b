import { BadRequestError, CofferError } from '../../errors.js';

/**
 * The interface every database plugin implements. A plugin instance owns the pooled connections
 * of one `database/config/NAME` entry and is closed when that entry is deleted, reset or rewritten,
 * or when the mount is cleaned up.
 */
export interface DatabasePlugin {
  /** Connects (or pings the pool) and throws the database's reason when that fails. */
  verify(): Promise<void>;
  /** Creates a user; runs `rollback` (or a default clean-up) when a creation statement fails. */
  newUser(request: NewUserRequest): Promise<void>;
  /** Extends a dynamic user's validity; a plugin without expiring users only runs the statements. */
  renewUser(request: RenewUserRequest): Promise<void>;
  /** Removes a user; succeeds when the user no longer exists. */
  revokeUser(request: RevokeUserRequest): Promise<void>;
  /** Sets the password of an existing user (static roles). */
  setPassword(request: SetPasswordRequest): Promise<void>;
  /** Changes the password of the user the plugin connects as; the caller reopens the plugin. */
  rotateRootPassword(request: RotateRootRequest): Promise<void>;
  /** Closes every connection of the pool. */
  close(): Promise<void>;
}

export interface NewUserRequest {
  username: string;
  password: string;
  expiration: Date;
  /** Creation statements as stored on the role; the plugin expands and renders them. */
  statements: string[];
  rollbackStatements: string[];
}

export interface RenewUserRequest {
  username: string;
  expiration: Date;
  statements: string[];
}

export interface RevokeUserRequest {
  username: string;
  statements: string[];
}

export interface SetPasswordRequest {
  username: string;
  password: string;
  statements: string[];
}

export interface RotateRootRequest {
  /** The user the config connects as, for `{{username}}` in root rotation statements. */
  username: string;
  password: string;
  statements: string[];
}

/**
 * Connection settings of one config entry, keyed by the API's field names (`connection_url`,
 * `username`, `password`, `host`, ...). Secret keys are listed in `SECRET_CONNECTION_FIELDS`.
 */
export type ConnectionDetails = Record<string, unknown>;

/** Connection fields never returned by a config read. */
export const SECRET_CONNECTION_FIELDS = new Set(['password', 'private_key', 'tls_certificate_key']);

/** Static facts about a plugin that the engine reads before it opens one. */
export interface PluginDescriptor {
  /** The database's longest username; 0 when it has no limit. */
  maxUsernameLength: number;
  defaultUsernameTemplate: string;
  /** Whether creation statements may be empty (Redis falls back to read-only rules). */
  creationStatementsOptional: boolean;
  /** SQL plugins quote passwords in statements, so a password must not contain `'` or `\`. */
  quotesPasswords: boolean;
  open(details: ConnectionDetails): DatabasePlugin;
}

/**
 * A database was unreachable or failed in a way the caller's request did not cause (502). The
 * message names the database and the reason, never a password.
 */
export class DatabaseUnavailableError extends CofferError {
  override readonly code = 'database_unavailable';
  override readonly status = 502;
}

/** Node network error codes that mean the database could not be reached. */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
]);

/**
 * Turns a driver error into a Coffer error whose message is safe to show: every secret in
 * `secrets` (and its URL-encoded form) is replaced by `[redacted]`, because databases echo the
 * failing statement, which may contain a password. Unreachable databases give 502; errors the
 * database returned for the statements or the login give 400.
 */
export function databaseError(context: string, err: unknown, secrets: Array<string | undefined>): CofferError {
  if (err instanceof CofferError) return err;
  const raw = err instanceof Error ? err.message || String((err as { code?: unknown }).code ?? 'unknown error') : String(err);
  const message = `${context}: ${scrubSecrets(raw, secrets)}`.slice(0, 2000);
  return isConnectionError(err) ? new DatabaseUnavailableError(message) : new BadRequestError(message);
}

/** Replaces each secret, raw and URL-encoded, with `[redacted]`. */
export function scrubSecrets(message: string, secrets: Array<string | undefined>): string {
  let scrubbed = message;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([secret, encodeURIComponent(secret), secret.replace(/'/g, "''")])) {
      scrubbed = scrubbed.split(form).join('[redacted]');
    }
  }
  return scrubbed;
}

function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) return true;
  if (err.name === 'AggregateError') return true;
  return /Connection is closed|connect ECONNREFUSED|Connection terminated|timeout exceeded when trying to connect/i.test(err.message);
}

/** Characters a generated username may not contain, because statements quote it. */
const UNSAFE_USERNAME = /['"`\\;\s\p{C}]/u;

/** Checks a generated username against the plugin's limit and the characters statements can quote. */
export function checkUsername(username: string, descriptor: PluginDescriptor): void {
  if (username === '') throw new BadRequestError('the username template produced an empty username');
  if (descriptor.maxUsernameLength > 0 && username.length > descriptor.maxUsernameLength) {
    throw new BadRequestError(
      `the username template produced a ${username.length}-character username; this database allows at most ${descriptor.maxUsernameLength}: add "| truncate ${descriptor.maxUsernameLength}"`,
    );
  }
  if (UNSAFE_USERNAME.test(username)) {
    throw new BadRequestError('the username template produced a username with a quote, backslash, semicolon, space or control character; remove them with "replace"');
  }
}

/** Checks that a password can be placed inside a quoted SQL string literal unchanged. */
export function checkPasswordQuotable(password: string, descriptor: PluginDescriptor): void {
  if (descriptor.quotesPasswords && /['\\]/.test(password)) {
    throw new BadRequestError("the password policy produced a password with ' or \\, which SQL statements cannot quote; remove them from its charsets");
  }
}

/** Reads an optional string connection field. */
export function stringDetail(details: ConnectionDetails, key: string): string | undefined {
  const value = details[key];
  if (value === undefined || value === null || value === '') return undefined;
  return typeof value === 'string' ? value : String(value);
}

/** Reads an optional whole-number connection field, or the fallback. */
export function intDetail(details: ConnectionDetails, key: string, fallback: number): number {
  const value = details[key];
  if (value === undefined || value === null || value === '') return fallback;
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(number)) throw new BadRequestError(`invalid value for "${key}": expected a whole number`);
  return number;
}

/** Reads an optional boolean connection field. */
export function boolDetail(details: ConnectionDetails, key: string): boolean {
  const value = details[key];
  return value === true || value === 'true' || value === '1' || value === 1;
}

/**
 * Replaces `{{username}}`/`{{name}}` and `{{password}}` in a connection string with markers made
 * of letters and digits, so any URL or DSN parser reads them unchanged, and returns a function that
 * restores the real values in each parsed field. No escaping is needed, whatever the values hold.
 */
export function templateConnectionString(
  template: string,
  username: string | undefined,
  password: string | undefined,
): { text: string; restore: (field: string | undefined) => string | undefined } {
  const userMarker = 'cofferusernamemarker';
  const passwordMarker = 'cofferpasswordmarker';
  const text = template.replace(/\{\{\s*(username|name)\s*\}\}/g, userMarker).replace(/\{\{\s*password\s*\}\}/g, passwordMarker);
  const restore = (field: string | undefined) => {
    if (field === undefined) return undefined;
    return field.split(userMarker).join(username ?? '').split(passwordMarker).join(password ?? '');
  };
  return { text, restore };
}
