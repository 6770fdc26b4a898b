import { ApiError, ConnectionError } from './client.js';

/** Exit code for success. */
export const EXIT_OK = 0;
/** Exit code for a failed request or any other runtime error. */
export const EXIT_ERROR = 1;
/** Exit code for a usage error, a read that found nothing, and a sealed server in `status`. */
export const EXIT_USAGE = 2;
/** Exit code for a missing or unknown command, as Vault's CLI returns. */
export const EXIT_UNKNOWN_COMMAND = 127;

/** A failure that ends the command with a message on stderr and the given exit code. */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number = EXIT_ERROR) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Invalid flags or arguments; the command's usage line is printed after the message. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT_USAGE);
  }
}

/**
 * Describes a failed request for a message such as `Error reading secret/foo: <this>`. It names
 * the status and, where the fix is clear, states what to do next. `hasToken` tells whether a
 * token was sent, so a 403 without one can point at `coffer login`.
 */
export function describeRequestFailure(err: unknown, hasToken: boolean): string {
  if (err instanceof ConnectionError) return describeConnectionFailure(err);
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : String(err);

  const detail = err.errors.length > 0 ? err.errors.join('; ') : 'no error message in the response';
  let text = `${detail} (${err.status})`;
  if (err.status === 403 && !hasToken) {
    text += '. No token is set: run "coffer login" or set COFFER_TOKEN';
  } else if (err.status === 503 && /sealed/i.test(detail)) {
    text += '. Unseal it with "coffer operator unseal"';
  }
  return text;
}

function describeConnectionFailure(err: ConnectionError): string {
  const next = 'Start a dev server with "coffer server -dev", or set COFFER_ADDR to the server\'s address';
  switch (err.code) {
    case 'ECONNREFUSED':
      return `connection refused at ${err.address}. ${next}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host of ${err.address} not found. Check -address or COFFER_ADDR`;
    case 'ECONNRESET':
      return `connection to ${err.address} was reset. If the server uses TLS, use an https:// address`;
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `TLS certificate of ${err.address} was rejected (${err.code}). Pass its CA with -ca-cert or COFFER_CACERT`;
    default:
      return `request to ${err.address} failed: ${err.message}${err.code ? ` (${err.code})` : ''}`;
  }
}
