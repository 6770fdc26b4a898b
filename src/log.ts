import pino, { type Logger } from 'pino';

/**
 * Field paths that may hold a secret. Pino replaces them with `[redacted]`, as a second line of
 * defence: code must not pass secrets to the logger in the first place.
 */
const REDACT_PATHS = [
  'token',
  'clientToken',
  'client_token',
  'password',
  'secret',
  'key',
  'keys',
  'rootToken',
  'root_token',
  'headers["x-vault-token"]',
  'headers.authorization',
  '*.token',
  '*.clientToken',
  '*.client_token',
  '*.password',
  '*.secret',
];

/** Creates the server's structured logger, writing JSON lines to stderr. */
export function createLogger(level: string = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'coffer' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
