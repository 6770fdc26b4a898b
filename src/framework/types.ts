import type { Logger } from 'pino';
import type { Storage } from '../storage/storage.js';

/** The logical operations of Vault's API. */
export type Operation = 'read' | 'create' | 'update' | 'patch' | 'delete' | 'list';

/** The authenticated caller, as the pipeline records it. */
export interface RequestAuth {
  /** Salted-hash id of the token (never the token itself). */
  tokenId: string;
  accessor: string;
  policies: string[];
  displayName: string;
  metadata: Record<string, string>;
  entityId: string;
  /** True for the root policy. */
  root: boolean;
  /** True when the caller's policies grant `sudo` on the request path. */
  sudo: boolean;
  tokenType: 'service' | 'batch';
}

/** A request after HTTP decoding, as the pipeline and backends see it. */
export interface LogicalRequest {
  id: string;
  operation: Operation;
  /** The path after `/v1/`, without a leading slash. */
  path: string;
  /** For writes, the JSON body; for reads, lists and deletes, the query parameters. */
  data: Record<string, unknown>;
  /** Raw query parameters; list pagination reads `after` and `limit` from here. */
  query: Record<string, string>;
  /**
   * The request body as received, for paths that take a non-JSON body (a DER OCSP request sent
   * as `application/ocsp-request`). Absent when the HTTP layer decoded the body as JSON.
   */
  rawBody?: Buffer;
  headers: Record<string, string | undefined>;
  clientToken?: string;
  remoteAddress: string;
  /** Seconds, from X-Vault-Wrap-TTL. */
  wrapTtl?: number;
  /** Set by the pipeline once the token is checked. */
  auth?: RequestAuth;
  /** Set by the router: the mount path with a trailing slash, e.g. `secret/`. */
  mountPoint?: string;
  /** Set by the router: the path relative to the mount. */
  mountRelativePath?: string;
  mountType?: string;
  mountAccessor?: string;
}

/** A secret that the expiration manager turns into a lease. */
export interface SecretInfo {
  /** Key into the backend's `secretTypes`: how this secret is renewed and revoked. */
  type: string;
  /** Seconds; 0 means the mount's default lease TTL. */
  ttl: number;
  /** Seconds; 0 means the mount's max lease TTL. */
  maxTtl: number;
  renewable: boolean;
  /** Data the backend needs to renew or revoke; stored encrypted, never sent to the caller. */
  internalData: Record<string, unknown>;
}

/** The lease details passed to a backend's renew and revoke callbacks. */
export interface LeaseContext {
  leaseId: string;
  /** The secret's `internalData` as it was registered (or as the last renewal replaced it). */
  internalData: Record<string, unknown>;
  /** Seconds requested by a renewal; 0 on revoke. */
  increment: number;
  /** Milliseconds since the epoch. */
  issueTime: number;
  /** Milliseconds since the epoch; 0 when the lease never expires. */
  expireTime: number;
  backend: BackendContext;
}

/** Renew and revoke callbacks for one kind of secret a backend issues. */
export interface SecretType {
  /** Removes the secret from the outside system; throwing makes the lease retry with backoff. */
  revoke(ctx: LeaseContext): Promise<void>;
  /**
   * Extends the secret (for example a database user's validity). Returns the TTL granted, which the
   * expiration manager caps by the lease's max TTL; absent means the secret cannot be renewed.
   */
  renew?(ctx: LeaseContext): Promise<{ ttl: number; internalData?: Record<string, unknown> }>;
}

/** The auth block of a login response, before the token store creates the token. */
export interface AuthInfo {
  policies: string[];
  metadata?: Record<string, string>;
  displayName?: string;
  ttl?: number;
  maxTtl?: number;
  period?: number;
  renewable?: boolean;
  numUses?: number;
  internalData?: Record<string, unknown>;
  boundCidrs?: string[];
  tokenType?: 'service' | 'batch' | 'default';
  /** Leaves the `default` policy off the token. */
  noDefaultPolicy?: boolean;
  /** Seconds; a hard cap on the token's life, renewals included. */
  explicitMaxTtl?: number;
}

/** A backend's response. The HTTP layer turns it into Vault's envelope. */
export interface LogicalResponse {
  data?: Record<string, unknown> | null;
  warnings?: string[];
  secret?: SecretInfo;
  auth?: AuthInfo;
  /** Copies the data keys to the top level of the body too, as Vault does for some sys paths. */
  mirrorDataAtTopLevel?: boolean;
  /** A status and JSON body sent as they are, without the envelope (sys/health, sys/init). */
  raw?: { status: number; body: unknown; contentType?: string };
  /** Answers with these bytes and content type, without the envelope (DER and PEM files, OCSP). */
  rawBytes?: { status: number; contentType: string; body: Buffer };
  /**
   * A finished `auth` block of the envelope. Only the token store sets it, because it creates
   * tokens itself; other auth methods return `auth` and the pipeline creates the token.
   */
  authBlock?: Record<string, unknown>;
  /**
   * The envelope's `lease_id`, `lease_duration` (seconds) and `renewable`, for responses about an
   * existing lease such as `sys/leases/renew`. Secrets that create a lease return `secret` instead.
   */
  lease?: { id: string; duration: number; renewable: boolean };
  /** Overrides the status of an enveloped response (Vault answers an empty LIST with 404). */
  status?: number;
}

/** Field types of a path's schema. Values are validated and converted before the handler runs. */
export type FieldType =
  | 'string'
  | 'int'
  | 'bool'
  | 'duration'
  | 'map'
  | 'string-map'
  | 'array'
  | 'comma-string-list'
  | 'any';

export interface FieldSpec {
  type: FieldType;
  description: string;
  default?: unknown;
  required?: boolean;
}

/** Fields after validation: a value has the field's type, or the default, or is undefined. */
export type FieldValues = Record<string, unknown>;

export interface HandlerContext {
  req: LogicalRequest;
  fields: FieldValues;
  /** Named groups captured by the path pattern. */
  params: Record<string, string>;
  backend: BackendContext;
}

export type Handler = (ctx: HandlerContext) => Promise<LogicalResponse | null>;

/**
 * One path of a backend, declared as data. `pattern` is a regular expression source matched
 * against the whole mount-relative path; named groups become `params` and are also offered as
 * fields. Values from `params` win over body fields of the same name.
 */
export interface PathSpec {
  pattern: string;
  fields?: Record<string, FieldSpec>;
  operations: Partial<Record<Operation, Handler>>;
  /** Decides whether a write is `create` or `update` for the ACL; absent means `update`. */
  existenceCheck?: (ctx: HandlerContext) => Promise<boolean>;
  /** Accepts body keys not declared in `fields` (KV data, for example). */
  allowUnknownFields?: boolean;
  help?: string;
}

/** Read-only view of TTL settings the backend runs under. */
export interface SystemView {
  defaultLeaseTtl(): number;
  maxLeaseTtl(): number;
  /**
   * Generates a password from the named `sys/policies/password` policy; throws a 400 when none has
   * the name. Absent where core has not wired password policies in.
   */
  generatePasswordFromPolicy?(policyName: string): Promise<string>;
}

/** The services core passes to a backend. Backends never import core internals. */
export interface BackendContext {
  storage: Storage;
  logger: Logger;
  system: SystemView;
  /** The mount path with a trailing slash. */
  mountPoint: string;
  mountType: string;
  /** Options from the mount table entry, e.g. `{ version: "2" }` for KV. */
  options: Record<string, string>;
}

export interface Backend {
  paths: PathSpec[];
  /** Path patterns (with `*` suffix globs) that need no token, such as login endpoints. */
  unauthenticatedPaths?: string[];
  /** Path patterns (with `*` suffix globs) that need the `sudo` capability. */
  rootPaths?: string[];
  /** Renew and revoke callbacks by secret type, for secrets the backend returns with `secret`. */
  secretTypes?: Record<string, SecretType>;
  /**
   * Checks that a token issued by this auth method may still be renewed (for example that the
   * user still exists) and returns its possibly changed policies; absent means renewal is allowed.
   * `ttl`, `maxTtl` and `period` (seconds), when returned, are the role's or user's current token
   * settings, which Vault applies at renewal time.
   */
  renewAuth?(ctx: { internalData: Record<string, unknown>; metadata: Record<string, string>; backend: BackendContext }): Promise<{ policies?: string[]; ttl?: number; maxTtl?: number; period?: number }>;
  /** Runs after mount and after each unseal, before requests are routed. */
  initialize?(): Promise<void>;
  /** Runs before unmount and on seal. */
  cleanup?(): Promise<void>;
}

export type BackendFactory = (ctx: BackendContext) => Promise<Backend> | Backend;
