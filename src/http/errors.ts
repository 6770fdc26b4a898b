import type { Logger } from 'pino';
import { CofferError } from '../errors.js';

/** The request's `Content-Type` is not one the operation accepts (415). */
export class UnsupportedMediaTypeError extends CofferError {
  override readonly code = 'unsupported_media_type';
  override readonly status = 415;
}

/** The request's `Expect` header contains an expectation other than `100-continue` (417). */
export class ExpectationFailedError extends CofferError {
  override readonly code = 'expectation_failed';
  override readonly status = 417;
}

/** Vault's error body. */
export interface ErrorBody {
  errors: string[];
}

/** An error mapped to the status and body sent to the client. */
export interface ErrorReply {
  status: number;
  body: ErrorBody;
}

const INTERNAL_ERROR_MESSAGE = 'internal error';

/**
 * Maps a thrown value to its HTTP status and Vault's `{"errors": [...]}` body, and logs it. This is
 * the one place where errors become HTTP responses.
 *
 * A `CofferError` keeps its status and message, because its message is written to be shown to the
 * caller. A 500 `CofferError` and any other thrown value become a 500 with a generic message, and
 * their detail goes to the log at error level with the request id. Other errors are logged at info:
 * they are the caller's mistake or an expected state such as a sealed server (503), not a fault.
 */
export function mapError(err: unknown, requestId: string, logger: Logger): ErrorReply {
  if (err instanceof CofferError && err.status !== 500) {
    logger.info({ request_id: requestId, status: err.status, code: err.code, error: err.message }, 'request rejected');
    return { status: err.status, body: { errors: [err.message] } };
  }

  logger.error({ request_id: requestId, err }, 'request failed');
  return { status: 500, body: { errors: [INTERNAL_ERROR_MESSAGE] } };
}

