import { createHmac, type KeyObject } from 'node:crypto';
import { BadRequestError } from '../../errors.js';
import { isPlainObject } from '../../framework/fields.js';
import type { LogicalRequest } from '../../framework/types.js';
import type { ResponseEnvelope } from '../answer.js';
import type { AuditAuth, AuditRequestEntry, AuditResponseEntry } from './types.js';

/** The options every device type accepts, parsed from the device's string options. */
export interface FormatOptions {
  /** Writes tokens and data as they are, without HMAC. */
  logRaw: boolean;
  /** HMACs token accessors; Vault's default is true. */
  hmacAccessor: boolean;
  /** Replaces the `keys` list (and `key_info` map) of list responses with their count. */
  elideListResponses: boolean;
  /** Text written before each JSON object on the same line. */
  prefix: string;
}

/** Hashes one string with the device's salt. */
export type Hasher = (input: string) => string;

/**
 * Computes `hmac-sha256:<hex>` of the input, keyed with the device's salt. Passing the salt as a
 * KeyObject made once (`createSecretKey`) saves importing the key on every call.
 */
export function hmacWithSalt(salt: Buffer | KeyObject, input: string): string {
  return 'hmac-sha256:' + createHmac('sha256', salt).update(input, 'utf8').digest('hex');
}

/**
 * Parses a boolean option the way Vault (Go's `strconv.ParseBool`) does. Throws a 400 naming the
 * option on any other value.
 */
export function parseBoolOption(options: Record<string, string>, name: string, fallback: boolean): boolean {
  const value = options[name];
  if (value === undefined || value === '') return fallback;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new BadRequestError(`invalid value for option "${name}": expected true or false`);
}

/** Parses the common options; throws a 400 for an invalid boolean or an unsupported format. */
export function parseFormatOptions(options: Record<string, string>): FormatOptions {
  const format = options.format ?? 'json';
  if (format === 'jsonx') {
    throw new BadRequestError('audit format "jsonx" is not supported; use "json"');
  }
  if (format !== 'json' && format !== '') {
    throw new BadRequestError(`invalid audit format ${JSON.stringify(format.slice(0, 40))}; use "json"`);
  }
  return {
    logRaw: parseBoolOption(options, 'log_raw', false),
    hmacAccessor: parseBoolOption(options, 'hmac_accessor', true),
    elideListResponses: parseBoolOption(options, 'elide_list_responses', false),
    prefix: options.prefix ?? '',
  };
}

/** Formats a request entry as one log line, newline included. */
export function formatRequestLine(entry: AuditRequestEntry, options: FormatOptions, hash: Hasher, time: Date): string {
  const auth = auditAuthOf(entry);
  const record = {
    time: time.toISOString(),
    type: 'request',
    auth: formatAuth(auth, options, hash),
    request: formatRequest(entry.req, auth, options, hash),
    error: entry.error ?? '',
  };
  return options.prefix + JSON.stringify(record) + '\n';
}

/** Formats a response entry as one log line, newline included. */
export function formatResponseLine(entry: AuditResponseEntry, options: FormatOptions, hash: Hasher, time: Date): string {
  const auth = auditAuthOf(entry);
  const record = {
    time: time.toISOString(),
    type: 'response',
    auth: formatAuth(auth, options, hash),
    request: formatRequest(entry.req, auth, options, hash),
    response: formatResponse(entry.req, entry.response, options, hash),
    error: entry.error ?? '',
  };
  return options.prefix + JSON.stringify(record) + '\n';
}

// The records below are serialized at once and never kept, so they refer to the caller's arrays
// and objects instead of copying them. Fields left undefined are omitted by JSON.stringify, as
// Go's `omitempty` omits empty fields in Vault's log.

/** Returns the entry's auth block, or one built from the checked token on the request. */
function auditAuthOf(entry: AuditRequestEntry): AuditAuth | undefined {
  if (entry.auth) return entry.auth;
  const checked = entry.req.auth;
  if (!checked) return undefined;
  return {
    client_token: entry.req.clientToken,
    accessor: checked.accessor,
    display_name: checked.displayName,
    policies: checked.policies,
    metadata: checked.metadata,
    entity_id: checked.entityId,
  };
}

function formatAuth(auth: AuditAuth | undefined, options: FormatOptions, hash: Hasher): Record<string, unknown> {
  if (!auth) return {};
  return {
    client_token: hashToken(auth.client_token, options, hash),
    accessor: hashAccessor(auth.accessor, options, hash),
    display_name: auth.display_name,
    policies: auth.policies,
    token_policies: auth.token_policies,
    metadata: auth.metadata,
    entity_id: auth.entity_id,
    token_type: auth.token_type,
    token_ttl: auth.token_ttl,
  };
}

function formatRequest(
  req: LogicalRequest,
  auth: AuditAuth | undefined,
  options: FormatOptions,
  hash: Hasher,
): Record<string, unknown> {
  return {
    id: req.id,
    operation: req.operation,
    mount_type: req.mountType,
    mount_accessor: req.mountAccessor,
    mount_point: req.mountPoint,
    client_token: hashToken(req.clientToken, options, hash),
    client_token_accessor: hashAccessor(auth?.accessor ?? req.auth?.accessor, options, hash),
    namespace: ROOT_NAMESPACE,
    path: req.path,
    data: nonEmpty(hashData(req.data, options, hash)),
    remote_address: req.remoteAddress,
    wrap_ttl: req.wrapTtl || undefined,
  };
}

const ROOT_NAMESPACE = Object.freeze({ id: 'root' });

function formatResponse(
  req: LogicalRequest,
  envelope: ResponseEnvelope | undefined,
  options: FormatOptions,
  hash: Hasher,
): Record<string, unknown> {
  const mountType = envelope?.mount_type || req.mountType;
  if (!envelope) return { mount_type: mountType, mount_accessor: req.mountAccessor, mount_point: req.mountPoint };

  let data = envelope.data;
  if (data && options.elideListResponses && req.operation === 'list') data = elideListData(data);
  return {
    mount_type: mountType,
    mount_accessor: req.mountAccessor,
    mount_point: req.mountPoint,
    auth: envelope.auth ? formatResponseAuth(envelope.auth, options, hash) : undefined,
    data: nonEmpty(hashData(data, options, hash)),
    secret: envelope.lease_id ? { lease_id: envelope.lease_id } : undefined,
    wrap_info: envelope.wrap_info ? formatWrapInfo(envelope.wrap_info, options, hash) : undefined,
    warnings: envelope.warnings && envelope.warnings.length > 0 ? envelope.warnings : undefined,
  };
}

/** Copies a login response's auth block, hashing the token and (by option) the accessor. */
function formatResponseAuth(auth: Record<string, unknown>, options: FormatOptions, hash: Hasher): Record<string, unknown> {
  const out = { ...auth };
  if (typeof auth.client_token === 'string') out.client_token = hashToken(auth.client_token, options, hash);
  if (typeof auth.accessor === 'string') out.accessor = hashAccessor(auth.accessor, options, hash);
  return out;
}

/** Copies wrap_info, hashing the wrapping token and (by option) both accessors. */
function formatWrapInfo(wrapInfo: Record<string, unknown>, options: FormatOptions, hash: Hasher): Record<string, unknown> {
  const out = { ...wrapInfo };
  if (typeof wrapInfo.token === 'string') out.token = hashToken(wrapInfo.token, options, hash);
  if (typeof wrapInfo.accessor === 'string') out.accessor = hashAccessor(wrapInfo.accessor, options, hash);
  if (typeof wrapInfo.wrapped_accessor === 'string') {
    out.wrapped_accessor = hashAccessor(wrapInfo.wrapped_accessor, options, hash);
  }
  return out;
}

/** Replaces `keys` with its length and `key_info` with its number of entries, as Vault elides. */
function elideListData(data: Record<string, unknown>): Record<string, unknown> {
  const out = { ...data };
  if (Array.isArray(data.keys)) out.keys = data.keys.length;
  if (isPlainObject(data.key_info)) out.key_info = Object.keys(data.key_info).length;
  return out;
}

function hashToken(token: string | undefined, options: FormatOptions, hash: Hasher): string | undefined {
  if (token === undefined || token === '') return token;
  return options.logRaw ? token : hash(token);
}

function hashAccessor(accessor: string | undefined, options: FormatOptions, hash: Hasher): string | undefined {
  if (accessor === undefined || accessor === '') return accessor;
  return options.logRaw || !options.hmacAccessor ? accessor : hash(accessor);
}

/**
 * Returns a deep copy of request or response data with every string replaced by its HMAC, at any
 * depth and inside arrays. Object keys, numbers, booleans and null are copied as they are. With
 * `log_raw` the copy keeps the strings.
 */
function hashData(
  data: Record<string, unknown> | null | undefined,
  options: FormatOptions,
  hash: Hasher,
): Record<string, unknown> | undefined {
  if (!data) return undefined;
  const transform: (s: string) => string = options.logRaw ? keepString : hash;
  return hashValue(data, transform) as Record<string, unknown>;
}

function keepString(s: string): string {
  return s;
}

function hashValue(value: unknown, transform: (s: string) => string): unknown {
  if (typeof value === 'string') return transform(value);
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => hashValue(item, transform));
  if (value instanceof Date) return transform(value.toISOString());
  if (Buffer.isBuffer(value)) return transform(value.toString('base64'));

  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = hashValue((value as Record<string, unknown>)[key], transform);
  return out;
}

/** Drops empty data as Go's `omitempty` does for a map. */
function nonEmpty(data: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!data) return undefined;
  for (const _key in data) return data;
  return undefined;
}
