import type { LogicalRequest } from '../../framework/types.js';
import type { ResponseEnvelope } from '../answer.js';

/**
 * The caller's token as the audit log records it: the fields of Vault's audit `auth` block that
 * the request pipeline can fill. `client_token` and `accessor` are written as HMACs unless the
 * device sets `log_raw` (and `hmac_accessor: false` keeps the accessor readable).
 */
export interface AuditAuth {
  client_token?: string;
  accessor?: string;
  display_name?: string;
  policies?: string[];
  token_policies?: string[];
  metadata?: Record<string, string>;
  entity_id?: string;
  token_type?: string;
  /** Seconds. */
  token_ttl?: number;
}

/** A request about to be served, logged before the handler runs. */
export interface AuditRequestEntry {
  req: LogicalRequest;
  auth?: AuditAuth;
  error?: string;
}

/** A served request and the envelope sent back, logged before the response leaves the server. */
export interface AuditResponseEntry {
  req: LogicalRequest;
  auth?: AuditAuth;
  response?: ResponseEnvelope;
  /**
   * HTTP status of the response. It is not written, because Vault's log format has no field for
   * it. It is here for the pipeline's own use and for filtering devices.
   */
  status: number;
  error?: string;
}

/** The enable request for an audit device, as `sys/audit/PATH` receives it. */
export interface AuditDeviceConfig {
  type: string;
  description?: string;
  /** Device options; Vault takes them as a map of strings. */
  options?: Record<string, string>;
  local?: boolean;
}

/** One enabled device as `sys/audit` lists it. */
export interface AuditDeviceInfo {
  /** The path with a trailing slash, such as `file/`. */
  path: string;
  type: string;
  description: string;
  options: Record<string, string>;
  local: boolean;
}

/** Destination of a device's lines: a file, a socket, or nothing. */
export interface AuditSink {
  /**
   * Writes one line (with its newline) and resolves once it is stored durably; throws on failure.
   * `appendedAt` is the value that an earlier `append` of the same request resolved with. When it
   * is given, the write also fails if that earlier line may have been lost before it became
   * durable.
   */
  write(line: string, appendedAt?: number): Promise<void>;
  /**
   * Writes one line and resolves once the destination has accepted it, without waiting for it to
   * become durable. The next `write` makes it durable. Throws when the line cannot be written.
   * Resolves with the value to pass to that `write` as `appendedAt`.
   */
  append(line: string): Promise<number>;
  /** Closes and opens the destination again, for log rotation. */
  reopen(): Promise<void>;
  /** Waits for pending writes and releases the destination. */
  close(): Promise<void>;
}
