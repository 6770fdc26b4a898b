/**
 * The error hierarchy. Each error has a stable code and an HTTP status; `http/errors.ts` maps
 * them to Vault's `{"errors": [...]}` body in one place. Messages of 4xx errors are shown to the
 * caller, so they must never contain a secret. 5xx errors get a generic message, and their detail
 * is logged with the request id.
 */
export class CofferError extends Error {
  readonly code: string = 'internal';
  readonly status: number = 500;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The request is malformed or a field has an invalid value (400). */
export class BadRequestError extends CofferError {
  override readonly code = 'bad_request';
  override readonly status = 400;
}

/** A check-and-set value did not match the current version (400, the status Vault returns). */
export class CheckAndSetError extends CofferError {
  override readonly code = 'check_and_set_mismatch';
  override readonly status = 400;
}

/** The token is missing, invalid or lacks the capability for the operation (403). */
export class PermissionDeniedError extends CofferError {
  override readonly code = 'permission_denied';
  override readonly status = 403;

  constructor(message = 'permission denied', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Nothing is stored at the path, or no route matches it (404). */
export class NotFoundError extends CofferError {
  override readonly code = 'not_found';
  override readonly status = 404;
}

/** The path exists but does not support the operation (405). */
export class UnsupportedOperationError extends CofferError {
  override readonly code = 'unsupported_operation';
  override readonly status = 405;

  constructor(message = 'unsupported operation', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A precondition such as a required state did not hold (412). */
export class PreconditionFailedError extends CofferError {
  override readonly code = 'precondition_failed';
  override readonly status = 412;
}

/** The request body is larger than the listener's limit (413). */
export class PayloadTooLargeError extends CofferError {
  override readonly code = 'payload_too_large';
  override readonly status = 413;
}

/** Too many requests, or a standby node's health check status (429). */
export class RateLimitError extends CofferError {
  override readonly code = 'rate_limited';
  override readonly status = 429;
}

/** The server is sealed and cannot serve the request (503). */
export class SealedError extends CofferError {
  override readonly code = 'sealed';
  override readonly status = 503;

  constructor(message = 'Coffer is sealed', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A failure the caller cannot fix; the message is logged, never sent (500). */
export class InternalError extends CofferError {
  override readonly code = 'internal';
  override readonly status = 500;
}

/** Returns the status for any thrown value: a CofferError's own, otherwise 500. */
export function statusOf(err: unknown): number {
  return err instanceof CofferError ? err.status : 500;
}
